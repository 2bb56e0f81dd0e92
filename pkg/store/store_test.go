package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/store"
)

// migrationCount is the number of files in pkg/store/migrations.
var migrationCount = func() int {
	entries, err := os.ReadDir("migrations")
	if err != nil {
		panic(err)
	}
	return len(entries)
}()

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openStore opens (and migrates) a store on a fresh database.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(testContext(t), store.Config{URL: testsupport.Database(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func randomName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

func databaseExists(t *testing.T, ctx context.Context, adminURL, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connecting to %s: %v", store.RedactURL(adminURL), err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("looking up database %s: %v", name, err)
	}
	return exists
}

func TestOpenCreatesMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	orig := testsupport.Database(t)
	u, err := url.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	name := randomName(t, "carehub_test_create_")
	u.Path = "/" + name
	newURL := u.String()

	// Registered before Open so that it runs last (after s.Close) and also
	// when Open fails half-way.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, orig)
		if err != nil {
			t.Errorf("connecting to drop %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})

	if databaseExists(t, ctx, orig, name) {
		t.Fatalf("database %s exists before Open", name)
	}

	// Without CreateDatabase a missing database is an error, and nothing is
	// created behind the caller's back.
	if s, err := store.Open(ctx, store.Config{URL: newURL}); err == nil {
		s.Close()
		t.Fatalf("Open without CreateDatabase on missing database %s succeeded", name)
	}
	if databaseExists(t, ctx, orig, name) {
		t.Fatalf("Open without CreateDatabase created %s", name)
	}

	s, err := store.Open(ctx, store.Config{URL: newURL, CreateDatabase: true})
	if err != nil {
		t.Fatalf("Open with CreateDatabase: %v", err)
	}
	t.Cleanup(s.Close)
	if !databaseExists(t, ctx, orig, name) {
		t.Fatalf("database %s missing after Open with CreateDatabase", name)
	}
	var current string
	if err := s.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != name {
		t.Fatalf("store connected to %q, want %q", current, name)
	}
	// Open migrated the new database.
	var versions int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatalf("schema_migrations: %v", err)
	}
	if versions != migrationCount {
		t.Fatalf("schema_migrations has %d rows, want %d", versions, migrationCount)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	// CreateDatabase on a database that now exists is fine.
	s2, err := store.Open(ctx, store.Config{URL: newURL, CreateDatabase: true})
	if err != nil {
		t.Fatalf("second Open with CreateDatabase on existing database: %v", err)
	}
	s2.Close()
}

func TestOpenUnreachableServerFailsFast(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	start := time.Now()
	s, err := store.Open(ctx, store.Config{
		URL:            "postgres://carehub:secret@127.0.0.1:1/carehub?sslmode=disable",
		ConnectTimeout: 2 * time.Second,
	})
	if err == nil {
		s.Close()
		t.Fatal("Open on a port where nothing listens succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Open took %s to fail", d)
	}
}

// TestOpenPlansEveryExecution guards against cached generic plans: made
// while the tables were small, they kept the router on sequential scans.
// Statements must not be prepared by name on the server (a named statement
// gets a generic plan after its fifth run), unless the URL asks for it.
func TestOpenPlansEveryExecution(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	base := testsupport.Database(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name     string
		url      string
		prepared bool
	}{
		{"default", base, false},
		{"the URL wins", base + sep + "default_query_exec_mode=cache_statement", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(ctx, store.Config{URL: tc.url})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			conn, err := s.Pool().Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			for range 6 {
				var n int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version > $1`, 0).Scan(&n); err != nil {
					t.Fatal(err)
				}
			}
			var named int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%schema_migrations%'`).Scan(&named); err != nil {
				t.Fatal(err)
			}
			if got := named > 0; got != tc.prepared {
				t.Errorf("named prepared statements: %d, want prepared = %v", named, tc.prepared)
			}
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := openStore(t) // Open applied every migration
	ctx := testContext(t)
	for i := range 2 {
		n, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
		if n != 0 {
			t.Fatalf("Migrate #%d after Open applied %d migrations, want 0", i+1, n)
		}
	}
	var versions []int
	rows, err := s.Pool().Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for i := range migrationCount {
		want = append(want, i+1)
	}
	if !slices.Equal(versions, want) {
		t.Fatalf("schema_migrations versions = %v, want %v", versions, want)
	}
	// Tables of 0001 exist.
	for _, table := range []string{"processed_events", "patients", "encounters", "notifications",
		"org_sequences", "webhook_deliveries", "webhook_endpoints_disabled", "audit_log"} {
		var reg *string
		if err := s.Pool().QueryRow(ctx, `SELECT to_regclass($1)::text`, table).Scan(&reg); err != nil {
			t.Fatal(err)
		}
		if reg == nil {
			t.Errorf("table %s missing after migration", table)
		}
	}
}

func TestMigrateFreshDatabaseThenAgain(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dbURL := testsupport.Database(t)
	// A second Open runs Migrate again on an up-to-date database.
	s1, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	s1.Close()
	s2, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s2.Close()
	if n, err := s2.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("Migrate = %d, %v; want 0, nil", n, err)
	}
}

// TestMarkProcessedComparesDigests: an event applied again with the same
// digest (or where either side has none) is a redelivery; another digest
// under the same id is ErrReusedEventID.
func TestMarkProcessedComparesDigests(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	mark := func(id, digest string) (bool, error) {
		var fresh map[string]bool
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			fresh, err = tx.MarkProcessedEvents(ctx, []store.ProcessedEvent{{ID: id, Type: "t", PatientKey: "pk", StreamSeq: 1, Digest: digest}})
			return err
		})
		return fresh[id], err
	}
	tests := []struct {
		name, id, first, again string
		wantReused             bool
	}{
		{name: "same digest", id: "d-1", first: "a", again: "a"},
		{name: "other digest", id: "d-2", first: "a", again: "b", wantReused: true},
		{name: "applied without a digest", id: "d-3", first: "", again: "b"},
		{name: "redelivered without a digest", id: "d-4", first: "a", again: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fresh, err := mark(tt.id, tt.first); err != nil || !fresh {
				t.Fatalf("first mark: fresh %v, err %v", fresh, err)
			}
			fresh, err := mark(tt.id, tt.again)
			if got := errors.Is(err, store.ErrReusedEventID); got != tt.wantReused || fresh {
				t.Errorf("second mark: fresh %v, err %v; want reused %v", fresh, err, tt.wantReused)
			}
		})
	}
}

func TestMarkProcessed(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)

	mark := func(id string, seq uint64) bool {
		t.Helper()
		var fresh bool
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			fresh, err = tx.MarkProcessed(ctx, id, "se.carehub.encounter.admitted", "pk-1", seq)
			return err
		})
		if err != nil {
			t.Fatalf("MarkProcessed(%s): %v", id, err)
		}
		return fresh
	}

	if !mark("ev-1", 7) {
		t.Fatal("first MarkProcessed(ev-1) fresh = false, want true")
	}
	if mark("ev-1", 8) {
		t.Fatal("second MarkProcessed(ev-1) fresh = true, want false")
	}
	if !mark("ev-2", 9) {
		t.Fatal("MarkProcessed(ev-2) fresh = false, want true")
	}
	var seq int64
	if err := s.Pool().QueryRow(ctx, `SELECT stream_seq FROM processed_events WHERE event_id = 'ev-1'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != 7 {
		t.Fatalf("ev-1 stream_seq = %d, want 7 (the first mark)", seq)
	}

	// Twice in one transaction: the second sees the first.
	err := s.InTx(ctx, func(tx *store.Tx) error {
		f1, err := tx.MarkProcessed(ctx, "ev-3", "t", "pk", 1)
		if err != nil {
			return err
		}
		f2, err := tx.MarkProcessed(ctx, "ev-3", "t", "pk", 1)
		if err != nil {
			return err
		}
		if !f1 || f2 {
			t.Errorf("same transaction: fresh = %v then %v, want true then false", f1, f2)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A rolled-back transaction leaves no mark.
	errRollback := errors.New("rollback")
	err = s.InTx(ctx, func(tx *store.Tx) error {
		fresh, err := tx.MarkProcessed(ctx, "ev-4", "t", "pk", 1)
		if err != nil {
			return err
		}
		if !fresh {
			t.Error("MarkProcessed(ev-4) in rolled-back tx: fresh = false")
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx error = %v, want %v", err, errRollback)
	}
	if !mark("ev-4", 2) {
		t.Fatal("MarkProcessed(ev-4) after rollback: fresh = false, want true")
	}
}

// jsonEqual compares JSON semantically (jsonb reformats what it stores).
func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestPatientUpsertRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)

	// Each case upserts the same key in turn, so later cases check that an
	// update overwrites every column.
	cases := []struct {
		name string
		p    store.Patient
	}{
		{"full", store.Patient{Key: "pk-1", MunicipalityCode: "0680", PrimaryCareHSA: "SE2321000057-1001",
			Resource: json.RawMessage(`{"resourceType":"Patient","name":[{"family":"Svensson","given":["Anna"]}]}`)}},
		{"update", store.Patient{Key: "pk-1", MunicipalityCode: "0764", PrimaryCareHSA: "SE2321000057-2002",
			Resource: json.RawMessage(`{"resourceType": "Patient", "active": true}`)}},
		{"cleared", store.Patient{Key: "pk-1"}},
		{"other key, no resource", store.Patient{Key: "pk-2", MunicipalityCode: "0680"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.UpsertPatient(ctx, tc.p) }); err != nil {
				t.Fatalf("UpsertPatient: %v", err)
			}
			var got store.Patient
			var ok bool
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				got, ok, err = tx.Patient(ctx, tc.p.Key)
				return err
			})
			if err != nil {
				t.Fatalf("Patient: %v", err)
			}
			if !ok {
				t.Fatalf("Patient(%s) not found after upsert", tc.p.Key)
			}
			if got.Key != tc.p.Key || got.MunicipalityCode != tc.p.MunicipalityCode || got.PrimaryCareHSA != tc.p.PrimaryCareHSA {
				t.Errorf("Patient = %+v, want %+v", got, tc.p)
			}
			if !jsonEqual(t, got.Resource, tc.p.Resource) {
				t.Errorf("Patient resource = %s, want %s", got.Resource, tc.p.Resource)
			}
		})
	}

	var count int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Fatalf("patients rows = %d, want 2 (upsert must not duplicate)", count)
	}

	err := s.InTx(ctx, func(tx *store.Tx) error {
		p, ok, err := tx.Patient(ctx, "unknown")
		if err != nil {
			return err
		}
		if ok || p.Key != "" {
			t.Errorf("Patient(unknown) = %+v, %v; want zero, false", p, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEncounterUpsertRoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)

	for _, key := range []string{"pk-1", "pk-2"} {
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.UpsertPatient(ctx, store.Patient{Key: key}) }); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2025, 3, 4, 8, 15, 30, 123456000, time.UTC)
	end := start.Add(72*time.Hour + 90*time.Minute)

	cases := []struct {
		name string
		e    store.Encounter
	}{
		{"admitted", store.Encounter{OrgID: "rjl-ryhov", ID: "enc-1", PatientKey: "pk-1", ClassCode: "IMP",
			Status: "in-progress", LastEventType: "se.carehub.encounter.admitted", PeriodStart: &start,
			Resource: json.RawMessage(`{"resourceType":"Encounter","id":"enc-1","status":"in-progress"}`)}},
		{"discharged", store.Encounter{OrgID: "rjl-ryhov", ID: "enc-1", PatientKey: "pk-2", ClassCode: "IMP",
			Status: "finished", LastEventType: "se.carehub.encounter.discharged", PeriodStart: &start, PeriodEnd: &end,
			Resource: json.RawMessage(`{"resourceType":"Encounter","id":"enc-1","status":"finished"}`)}},
		{"same id other org, no period", store.Encounter{OrgID: "rkl-ljungby", ID: "enc-1", PatientKey: "pk-1",
			Status: "planned", LastEventType: "se.carehub.encounter.pre-admitted",
			Resource: json.RawMessage(`{"resourceType":"Encounter"}`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.UpsertEncounter(ctx, tc.e) }); err != nil {
				t.Fatalf("UpsertEncounter: %v", err)
			}
			var got store.Encounter
			var ok bool
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				got, ok, err = tx.Encounter(ctx, tc.e.OrgID, tc.e.ID)
				return err
			})
			if err != nil {
				t.Fatalf("Encounter: %v", err)
			}
			if !ok {
				t.Fatalf("Encounter(%s, %s) not found", tc.e.OrgID, tc.e.ID)
			}
			if got.OrgID != tc.e.OrgID || got.ID != tc.e.ID || got.PatientKey != tc.e.PatientKey ||
				got.ClassCode != tc.e.ClassCode || got.Status != tc.e.Status || got.LastEventType != tc.e.LastEventType {
				t.Errorf("Encounter = %+v, want %+v", got, tc.e)
			}
			if !timePtrEqual(got.PeriodStart, tc.e.PeriodStart) {
				t.Errorf("PeriodStart = %v, want %v", got.PeriodStart, tc.e.PeriodStart)
			}
			if !timePtrEqual(got.PeriodEnd, tc.e.PeriodEnd) {
				t.Errorf("PeriodEnd = %v, want %v", got.PeriodEnd, tc.e.PeriodEnd)
			}
			if !jsonEqual(t, got.Resource, tc.e.Resource) {
				t.Errorf("Resource = %s, want %s", got.Resource, tc.e.Resource)
			}
		})
	}

	var count int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM encounters`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Fatalf("encounters rows = %d, want 2", count)
	}

	err := s.InTx(ctx, func(tx *store.Tx) error {
		_, ok, err := tx.Encounter(ctx, "rjl-ryhov", "unknown")
		if err != nil {
			return err
		}
		if ok {
			t.Error("Encounter(unknown) ok = true")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The patient must exist (foreign key).
	err = s.InTx(ctx, func(tx *store.Tx) error {
		return tx.UpsertEncounter(ctx, store.Encounter{OrgID: "o", ID: "e", PatientKey: "no-such-patient",
			Status: "s", LastEventType: "t", Resource: json.RawMessage(`{}`)})
	})
	if err == nil {
		t.Fatal("UpsertEncounter for an unknown patient succeeded")
	}
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func notification(id, org string) store.Notification {
	return store.Notification{
		ID:          id,
		OrgID:       org,
		Kind:        "discharged",
		PatientKey:  "pk-" + id,
		EncounterID: "enc-" + id,
		EventID:     "ev-" + id,
		CloudEvent:  json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":%q}`, id)),
	}
}

func insertNotifications(t *testing.T, s *store.Store, ns ...store.Notification) {
	t.Helper()
	ctx := testContext(t)
	for _, n := range ns {
		var inserted bool
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			inserted, err = tx.InsertNotification(ctx, n)
			return err
		})
		if err != nil {
			t.Fatalf("InsertNotification(%s): %v", n.ID, err)
		}
		if !inserted {
			t.Fatalf("InsertNotification(%s) inserted = false", n.ID)
		}
	}
}

func statuses(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	ctx := testContext(t)
	rows, err := s.Pool().Query(ctx, `SELECT id, status, published_at IS NOT NULL FROM notifications`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, status string
		var hasPublishedAt bool
		if err := rows.Scan(&id, &status, &hasPublishedAt); err != nil {
			t.Fatal(err)
		}
		if hasPublishedAt != (status == store.StatusPublished) {
			t.Errorf("notification %s: status %s but published_at set = %v", id, status, hasPublishedAt)
		}
		out[id] = status
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWriteKeepsTheFirstNotificationOfAnID: a batch that writes a
// notification whose id exists fails with ErrNotificationRace, so that it
// rolls back (its sequence numbers with it) and runs again; the first
// notification stays as it was.
func TestWriteKeepsTheFirstNotificationOfAnID(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)

	first := notification("n-1", "rjl-ryhov")
	insertNotifications(t, s, first)

	second := notification("n-1", "jonkoping-kommun")
	second.Kind = "other"
	second.CloudEvent = json.RawMessage(`{"changed":true}`)
	second.Seq = 1
	err := s.InTx(ctx, func(tx *store.Tx) error {
		return tx.Write(ctx, &store.Writes{Notifications: []store.Notification{second}}, time.Now())
	})
	if !errors.Is(err, store.ErrNotificationRace) {
		t.Fatalf("writing a notification whose id exists: %v, want ErrNotificationRace", err)
	}

	got, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "rjl-ryhov", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("ListNotifications returned %d rows, want 1", len(got))
	}
	n := got[0]
	if n.ID != first.ID || n.OrgID != first.OrgID || n.Kind != first.Kind || n.PatientKey != first.PatientKey ||
		n.EncounterID != first.EncounterID || n.EventID != first.EventID {
		t.Errorf("stored notification = %+v, want the first insert %+v", n, first)
	}
	if !jsonEqual(t, n.CloudEvent, first.CloudEvent) {
		t.Errorf("stored cloudevent = %s, want %s", n.CloudEvent, first.CloudEvent)
	}
	if n.Status != store.StatusPending || n.PublishedAt != nil {
		t.Errorf("new notification status = %s, published_at = %v; want pending, nil", n.Status, n.PublishedAt)
	}
	if n.CreatedAt.IsZero() {
		t.Error("created_at is zero")
	}
	if other, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "jonkoping-kommun", Limit: 10}); err != nil || len(other) != 0 {
		t.Errorf("jonkoping-kommun has %d notifications (err %v), want 0", len(other), err)
	}

	// Status given by the caller is ignored: every new row is pending.
	p := notification("n-2", "rjl-ryhov")
	p.Status = store.StatusPublished
	insertNotifications(t, s, p)
	if st := statuses(t, s)["n-2"]; st != store.StatusPending {
		t.Errorf("n-2 status = %s, want pending", st)
	}
}

func ids(ns []store.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func TestPublishPending(t *testing.T) {
	t.Parallel()
	errPublish := errors.New("JetStream said no")
	cases := []struct {
		name        string
		limit       int
		publish     func(batch []string) ([]string, error) // batch ids -> returned ids
		wantBatch   []string
		wantCount   int
		wantErr     error
		wantPending []string
	}{
		{
			name:        "all returned",
			limit:       10,
			publish:     func(b []string) ([]string, error) { return b, nil },
			wantBatch:   []string{"n-3", "n-1", "n-2", "n-0"},
			wantCount:   4,
			wantPending: nil,
		},
		{
			name:        "limit takes the oldest",
			limit:       2,
			publish:     func(b []string) ([]string, error) { return b, nil },
			wantBatch:   []string{"n-3", "n-1"},
			wantCount:   2,
			wantPending: []string{"n-0", "n-2"},
		},
		{
			name:        "only returned rows are marked",
			limit:       10,
			publish:     func(b []string) ([]string, error) { return []string{b[0], b[2]}, nil },
			wantBatch:   []string{"n-3", "n-1", "n-2", "n-0"},
			wantCount:   2,
			wantPending: []string{"n-0", "n-1"},
		},
		{
			name:        "nothing returned",
			limit:       10,
			publish:     func(b []string) ([]string, error) { return nil, nil },
			wantBatch:   []string{"n-3", "n-1", "n-2", "n-0"},
			wantCount:   0,
			wantPending: []string{"n-0", "n-1", "n-2", "n-3"},
		},
		{
			name:        "error still marks the returned ones",
			limit:       10,
			publish:     func(b []string) ([]string, error) { return b[:2], errPublish },
			wantBatch:   []string{"n-3", "n-1", "n-2", "n-0"},
			wantCount:   2,
			wantErr:     errPublish,
			wantPending: []string{"n-0", "n-2"},
		},
		{
			name:        "error with nothing returned",
			limit:       10,
			publish:     func(b []string) ([]string, error) { return nil, errPublish },
			wantBatch:   []string{"n-3", "n-1", "n-2", "n-0"},
			wantCount:   0,
			wantErr:     errPublish,
			wantPending: []string{"n-0", "n-1", "n-2", "n-3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			ctx := testContext(t)
			// Inserted in this order; created_at follows insertion order,
			// so the oldest first order is n-3, n-1, n-2, n-0.
			insertNotifications(t, s,
				notification("n-3", "rjl-ryhov"), notification("n-1", "jonkoping-kommun"),
				notification("n-2", "rjl-ryhov"), notification("n-0", "rjl-ryhov"))

			var gotBatch []store.Notification
			calls := 0
			n, err := s.PublishPending(ctx, tc.limit, func(_ context.Context, batch []store.Notification) ([]string, error) {
				calls++
				gotBatch = batch
				return tc.publish(ids(batch))
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("PublishPending error = %v, want %v", err, tc.wantErr)
			}
			if calls != 1 {
				t.Fatalf("publish called %d times, want 1", calls)
			}
			if got := ids(gotBatch); !slices.Equal(got, tc.wantBatch) {
				t.Fatalf("batch = %v, want %v (oldest first)", got, tc.wantBatch)
			}
			for i, b := range gotBatch {
				if b.Status != store.StatusPending || b.PublishedAt != nil {
					t.Errorf("batch row %s: status %s, published_at %v; want pending, nil", b.ID, b.Status, b.PublishedAt)
				}
				if i > 0 && b.CreatedAt.Before(gotBatch[i-1].CreatedAt) {
					t.Errorf("batch row %s created before its predecessor", b.ID)
				}
				want := notification(b.ID, b.OrgID)
				if b.Kind != want.Kind || b.PatientKey != want.PatientKey || b.EventID != want.EventID ||
					b.EncounterID != want.EncounterID || !jsonEqual(t, b.CloudEvent, want.CloudEvent) {
					t.Errorf("batch row = %+v, want the inserted %+v", b, want)
				}
			}
			if n != tc.wantCount {
				t.Errorf("PublishPending count = %d, want %d", n, tc.wantCount)
			}

			st := statuses(t, s)
			var pending []string
			for id, status := range st {
				switch status {
				case store.StatusPending:
					pending = append(pending, id)
				case store.StatusPublished:
				default:
					t.Errorf("notification %s has status %q", id, status)
				}
			}
			sort.Strings(pending)
			if !slices.Equal(pending, tc.wantPending) {
				t.Fatalf("pending after PublishPending = %v, want %v (all statuses %v)", pending, tc.wantPending, st)
			}

			// A second run sees exactly the rows still pending, oldest first.
			var again []string
			_, err = s.PublishPending(ctx, 10, func(_ context.Context, batch []store.Notification) ([]string, error) {
				again = ids(batch)
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var wantAgain []string
			for _, id := range []string{"n-3", "n-1", "n-2", "n-0"} { // oldest first
				if slices.Contains(tc.wantPending, id) {
					wantAgain = append(wantAgain, id)
				}
			}
			if !slices.Equal(again, wantAgain) {
				t.Fatalf("second PublishPending batch = %v, want %v", again, wantAgain)
			}
		})
	}
}

func TestPublishPendingEmptyOutbox(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	called := false
	n, err := s.PublishPending(ctx, 10, func(context.Context, []store.Notification) ([]string, error) {
		called = true
		return nil, nil
	})
	if err != nil || n != 0 {
		t.Fatalf("PublishPending on empty outbox = %d, %v; want 0, nil", n, err)
	}
	if called {
		t.Fatal("publish called with an empty batch")
	}
}

func TestPublishPendingConcurrentClaimsAreDisjoint(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	var all []string
	for i := range 6 {
		n := notification(fmt.Sprintf("n-%d", i), "rjl-ryhov")
		insertNotifications(t, s, n)
		all = append(all, n.ID)
	}

	const workers = 2
	inside := make(chan struct{}, workers)
	release := make(chan struct{})
	var mu sync.Mutex
	batches := make([][]string, workers)
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[w], errs[w] = s.PublishPending(ctx, 3, func(ctx context.Context, batch []store.Notification) ([]string, error) {
				mu.Lock()
				batches[w] = ids(batch)
				mu.Unlock()
				inside <- struct{}{}
				// Hold the row locks until both relays are inside.
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return ids(batch), nil
			})
		}()
	}
	timeout := time.After(20 * time.Second)
	for i := range workers {
		select {
		case <-inside:
		case <-timeout:
			close(release)
			wg.Wait()
			t.Fatalf("only %d of %d concurrent PublishPending calls reached publish: the second one blocked on the first one's rows or got none", i, workers)
		}
	}
	close(release)
	wg.Wait()

	seen := map[string]int{}
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		if len(batches[w]) != 3 {
			t.Errorf("worker %d got %d rows %v, want 3", w, len(batches[w]), batches[w])
		}
		if counts[w] != len(batches[w]) {
			t.Errorf("worker %d count = %d, want %d", w, counts[w], len(batches[w]))
		}
		for _, id := range batches[w] {
			seen[id]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notification %s handed to %d concurrent relays, want 1", id, n)
		}
	}
	if len(seen) != len(all) {
		t.Errorf("relays saw %d distinct rows, want %d", len(seen), len(all))
	}
	for id, status := range statuses(t, s) {
		if status != store.StatusPublished {
			t.Errorf("notification %s status = %s, want published", id, status)
		}
	}
}

func TestListNotifications(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)

	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	type row struct {
		id, org, status string
		at              time.Time
	}
	// a-2, a-3, a-4 share a created_at: the cursor must break the tie by id.
	rows := []row{
		{"a-1", "rjl-ryhov", store.StatusPublished, base},
		{"a-2", "rjl-ryhov", store.StatusPending, base.Add(time.Minute)},
		{"a-3", "rjl-ryhov", store.StatusPublished, base.Add(time.Minute)},
		{"a-4", "rjl-ryhov", store.StatusPending, base.Add(time.Minute)},
		{"a-5", "rjl-ryhov", store.StatusPending, base.Add(2 * time.Minute)},
		{"a-6", "rjl-ryhov", store.StatusPublished, base.Add(3 * time.Minute)},
		{"a-7", "rjl-ryhov", store.StatusPending, base.Add(3*time.Minute + time.Microsecond)},
		{"b-1", "jonkoping-kommun", store.StatusPending, base.Add(90 * time.Second)},
		{"b-2", "jonkoping-kommun", store.StatusPublished, base.Add(4 * time.Minute)},
	}
	for _, r := range rows {
		insertNotifications(t, s, notification(r.id, r.org))
		if _, err := s.Pool().Exec(ctx, `UPDATE notifications SET created_at = $2, status = $3,
			published_at = CASE WHEN $3 = 'published' THEN $2::timestamptz END WHERE id = $1`, r.id, r.at, r.status); err != nil {
			t.Fatal(err)
		}
	}

	// expected returns the ids matching org/status/since, newest first.
	expected := func(org, status string, since time.Time) []string {
		var m []row
		for _, r := range rows {
			if r.org == org && (status == "" || r.status == status) && (since.IsZero() || !r.at.Before(since)) {
				m = append(m, r)
			}
		}
		sort.Slice(m, func(i, j int) bool {
			if !m[i].at.Equal(m[j].at) {
				return m[i].at.After(m[j].at)
			}
			return m[i].id > m[j].id
		})
		out := []string{}
		for _, r := range m {
			out = append(out, r.id)
		}
		return out
	}
	if got := expected("rjl-ryhov", "", time.Time{}); !slices.Equal(got, []string{"a-7", "a-6", "a-5", "a-4", "a-3", "a-2", "a-1"}) {
		t.Fatalf("test's own expectation is wrong: %v", got)
	}

	cases := []struct {
		name   string
		org    string
		status string
		since  time.Time
	}{
		{"org", "rjl-ryhov", "", time.Time{}},
		{"other org", "jonkoping-kommun", "", time.Time{}},
		{"unknown org", "ljungby-kommun", "", time.Time{}},
		{"pending", "rjl-ryhov", store.StatusPending, time.Time{}},
		{"published", "rjl-ryhov", store.StatusPublished, time.Time{}},
		{"since is inclusive", "rjl-ryhov", "", base.Add(time.Minute)},
		{"since between rows", "rjl-ryhov", "", base.Add(90 * time.Second)},
		{"since and status", "rjl-ryhov", store.StatusPending, base.Add(time.Minute)},
		{"since after everything", "rjl-ryhov", "", base.Add(time.Hour)},
	}
	for _, tc := range cases {
		want := expected(tc.org, tc.status, tc.since)
		t.Run(tc.name+"/one page", func(t *testing.T) {
			got, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: tc.org, Status: tc.status, Since: tc.since, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, want) && !(len(g) == 0 && len(want) == 0) {
				t.Fatalf("ListNotifications = %v, want %v", g, want)
			}
			for _, n := range got {
				if n.OrgID != tc.org {
					t.Errorf("row %s has org %s, want %s", n.ID, n.OrgID, tc.org)
				}
				if tc.status != "" && n.Status != tc.status {
					t.Errorf("row %s has status %s, want %s", n.ID, n.Status, tc.status)
				}
			}
		})
		for _, limit := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/pages of %d", tc.name, limit), func(t *testing.T) {
				q := store.NotificationQuery{OrgID: tc.org, Status: tc.status, Since: tc.since, Limit: limit}
				got := []string{}
				for page := 0; ; page++ {
					if page > len(rows)+1 {
						t.Fatalf("paging does not end; so far %v", got)
					}
					ns, err := s.ListNotifications(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if len(ns) > limit {
						t.Fatalf("page %d has %d rows, limit %d", page, len(ns), limit)
					}
					got = append(got, ids(ns)...)
					if len(ns) < limit {
						break
					}
					last := ns[len(ns)-1]
					q.Before = &store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("paged ids = %v, want %v (no gaps, no repeats)", got, want)
				}
			})
		}
	}

	// Created at and published at come back as stored.
	got, err := s.ListNotifications(ctx, store.NotificationQuery{OrgID: "jonkoping-kommun", Status: store.StatusPublished, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].CreatedAt.Equal(base.Add(4*time.Minute)) || got[0].PublishedAt == nil ||
		!got[0].PublishedAt.Equal(base.Add(4*time.Minute)) {
		t.Fatalf("jonkoping-kommun published = %+v, want b-2 created and published at %s", got, base.Add(4*time.Minute))
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		want   string // exact, when set
		secret string // must not appear in the output
	}{
		{name: "password", in: "postgres://carehub:s3cret@db.example:5432/carehub?sslmode=disable",
			want: "postgres://carehub:xxxxx@db.example:5432/carehub?sslmode=disable", secret: "s3cret"},
		{name: "escaped password", in: "postgres://carehub:p%40ss%2Fw0rd@db.example/carehub",
			want: "postgres://carehub:xxxxx@db.example/carehub", secret: "w0rd"},
		{name: "empty password", in: "postgres://carehub:@db.example/carehub",
			want: "postgres://carehub:xxxxx@db.example/carehub"},
		{name: "user without password", in: "postgres://carehub@db.example/carehub",
			want: "postgres://carehub@db.example/carehub"},
		{name: "no user", in: "postgres://localhost:5432/postgres?sslmode=disable",
			want: "postgres://localhost:5432/postgres?sslmode=disable"},
		{name: "postgresql scheme", in: "postgresql://u:hunter2@h/d",
			want: "postgresql://u:xxxxx@h/d", secret: "hunter2"},
		// Config.URL may also be a key=value string, and pgx reads a
		// password query parameter: neither may reach a log.
		{name: "key=value password", in: "host=db.example user=carehub password=s3cret dbname=carehub",
			secret: "s3cret"},
		{name: "password query parameter", in: "postgres://carehub@db.example/carehub?sslmode=disable&password=s3cret",
			secret: "s3cret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := store.RedactURL(tc.in)
			if tc.want != "" && got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if tc.secret != "" && strings.Contains(got, tc.secret) {
				t.Errorf("RedactURL(%q) = %q still contains the password", tc.in, got)
			}
		})
	}
}

// TestRedactURLEdgeForms covers connection strings that pgx accepts (or that
// Open reports as unparseable, through RedactURL) whose password must not
// reach a log either.
func TestRedactURLEdgeForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		secret string
	}{
		{"key=value quoted password with a space", "host=db.example password='my s3cret' dbname=carehub", "s3cret"},
		{"key=value spaces around =", "host=db.example password = s3cret dbname=carehub", "s3cret"},
		{"URL with a bad port", "postgres://carehub:s3cret@db.example:port/carehub", "s3cret"},
		{"URL with a bad escape", "postgres://carehub:s3cret%zz@db.example/carehub", "s3cret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.RedactURL(tc.in); strings.Contains(got, tc.secret) {
				t.Errorf("RedactURL(%q) = %q still contains (part of) the password", tc.in, got)
			}
		})
	}
}

// TestPublishingKeepsNotificationsInPlace: marking notifications published
// rewrites each row; there must be room for the new version on the row's
// own page, so the update is a HOT update that adds nothing to the table's
// indexes. A row that moved to another page shows that it was not.
func TestPublishingKeepsNotificationsInPlace(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := testContext(t)
	// As large and about as compressible as a real notification's
	// structured CloudEvent.
	bundle := strings.Repeat(`{"resource":{"resourceType":"Organization","id":"%03d","name":"Vårdcentralen %03d"}},`, 30)
	var ns []store.Notification
	for i := range 40 {
		n := notification(fmt.Sprintf("inplace-%02d", i), "jonkoping-kommun")
		n.CloudEvent = json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":%q,"data":[`+bundle+`{}]}`,
			append([]any{n.ID}, slices.Repeat([]any{i, i}, 30)...)...))
		ns = append(ns, n)
	}
	insertNotifications(t, s, ns...)
	blocks := func() map[string]string {
		rows, err := s.Pool().Query(ctx, `SELECT id, split_part(ctid::text, ',', 1) FROM notifications WHERE id LIKE 'inplace-%'`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		var id, block string
		if _, err := pgx.ForEachRow(rows, []any{&id, &block}, func() error { out[id] = block; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := blocks()
	if n, err := s.PublishPending(ctx, 100, func(_ context.Context, b []store.Notification) ([]string, error) { return ids(b), nil }); err != nil || n != len(ns) {
		t.Fatalf("PublishPending = %d, %v; want %d published", n, err, len(ns))
	}
	after := blocks()
	moved := 0
	for id, block := range before {
		if after[id] != block {
			moved++
		}
	}
	if moved > 0 {
		t.Errorf("%d of %d notifications moved to another page when published (not a HOT update)", moved, len(ns))
	}
}
