package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/store"
)

// TestLoadPatientsReadsThroughIndexes: loading a batch's patients must not
// scan whole tables. The router loads with every batch, so a scan grows
// with history: after a simulated year it cost 200 ms per batch. The
// statements first run against empty tables on the one connection, as they
// do when a hub starts on a new database, so that a plan cached then would
// be the plan used once the tables are large.
func TestLoadPatientsReadsThroughIndexes(t *testing.T) {
	ctx := testContext(t)
	s, err := store.Open(ctx, store.Config{URL: testsupport.Database(t), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for range 8 {
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			if _, _, err := tx.LoadPatients(ctx, []string{"warm-up"}, store.Scope{}); err != nil {
				return err
			}
			_, _, err := tx.LoadPatients(ctx, []string{"warm-up"}, store.Scope{Full: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}

	const patients = 10000
	var w store.Writes
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range patients {
		key := fmt.Sprintf("patient-%05d", i)
		w.Patients = append(w.Patients, store.Patient{Key: key, MunicipalityCode: "0680"})
		w.Facts = append(w.Facts,
			store.Fact{EventID: "ev-" + key, PatientKey: key, JSON: json.RawMessage(`{"Encounter":{"OrgID":"ryhov","ID":"enc-` + key + `"}}`)},
			store.Fact{EventID: "ep-" + key, PatientKey: key, JSON: json.RawMessage(`{"Episode":{"OrgID":"0680","ID":"epi-` + key + `"}}`)})
		w.Encounters = append(w.Encounters, store.Encounter{OrgID: "ryhov", ID: "enc-" + key, PatientKey: key,
			ClassCode: "IMP", Status: "in-progress", LastEventType: "admitted", PeriodStart: &now, Resource: json.RawMessage(`{}`)})
		w.Episodes = append(w.Episodes, store.Episode{ID: "epi-" + key, PatientKey: key, OrgID: "0680", Resource: json.RawMessage(`{}`)})
		w.Notifications = append(w.Notifications, store.Notification{ID: "n-" + key, OrgID: "0680", Kind: "admitted",
			PatientKey: key, EncounterID: "enc-" + key, EventID: "ev-" + key, EncounterOrg: "ryhov",
			CloudEvent: json.RawMessage(`{"specversion":"1.0"}`), Seq: int64(i + 1)})
		w.Deadlines = append(w.Deadlines, store.Deadline{ID: "d-" + key, PatientKey: key, Kind: "admission-notice",
			OrgID: "0680", DueAt: now.Add(24 * time.Hour), NotificationID: "n-" + key, EncounterOrg: "ryhov", EncounterID: "enc-" + key})
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.Write(ctx, &w, now) }); err != nil {
		t.Fatal(err)
	}

	for _, scope := range []store.Scope{{}, {Full: true}, {Subjects: []string{"encounter/ryhov/enc-patient-00007"}}} {
		loadThroughIndexes(t, s, scope)
	}
}

func loadThroughIndexes(t *testing.T, s *store.Store, scope store.Scope) {
	t.Helper()
	ctx := testContext(t)
	want := []string{"patients", "patient_facts", "encounters", "episodes", "notification_log", "deadlines"}
	err := s.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.SeqScans(ctx)
		if err != nil {
			return err
		}
		keys := []string{"patient-00007", "patient-01500", "patient-09999", "unknown"}
		resolved, states, err := tx.LoadPatients(ctx, keys, scope)
		if err != nil {
			return err
		}
		after, err := tx.SeqScans(ctx)
		if err != nil {
			return err
		}
		for _, table := range want {
			if n := after[table] - before[table]; n != 0 {
				t.Errorf("LoadPatients(%+v) scanned all of %s %d time(s)", scope, table, n)
			}
		}
		// The lookups must still find what is there.
		for _, key := range keys[:3] {
			st := states[resolved[key]]
			if st == nil || len(st.Facts) != 2 || len(st.Encounters) != 1 || len(st.Episodes) != 1 ||
				len(st.Log) != 1 || len(st.Deadlines) != 1 {
				t.Errorf("state of %s incomplete: %+v", key, st)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
