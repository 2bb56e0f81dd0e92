package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The router applies a batch of events set-wise: one statement marks them
// all processed, one pipelined round trip locks and loads every patient
// they touch, and one more writes everything the rules decided. A batch of
// hundreds of events costs a handful of round trips instead of several per
// event, which is what bounded the router before.

// ProcessedEvent identifies an event a batch applies.
type ProcessedEvent struct {
	ID, Type, PatientKey string
	StreamSeq            uint64
	// Digest is the event's source digest, "" when it has none.
	Digest string
}

// ErrReusedEventID is returned by MarkProcessedEvents for an event whose
// id was applied before with another source digest: the sender reused an
// identity for other content after JetStream's duplicate window.
var ErrReusedEventID = errors.New("event id already applied with different content")

// MarkProcessedEvents records events as applied and returns the ids that
// are new; the others were applied before and must change nothing. An
// event whose id was applied with another digest is ErrReusedEventID.
func (t *Tx) MarkProcessedEvents(ctx context.Context, events []ProcessedEvent) (fresh map[string]bool, err error) {
	ids, types, keys := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	seqs, digests := make([]int64, len(events)), make([]*string, len(events))
	for i, e := range events {
		ids[i], types[i], keys[i], seqs[i] = e.ID, e.Type, e.PatientKey, int64(e.StreamSeq)
		if e.Digest != "" {
			digests[i] = &e.Digest
		}
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO processed_events (event_id, event_type, patient_key, stream_seq, source_digest)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
		ON CONFLICT (event_id) DO NOTHING RETURNING event_id`, ids, types, keys, seqs, digests)
	if err != nil {
		return nil, fmt.Errorf("marking events processed: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("marking events processed: %w", err)
	}
	fresh = make(map[string]bool, len(got))
	for _, id := range got {
		fresh[id] = true
	}
	if len(fresh) < len(events) {
		if err := t.checkReused(ctx, ids, digests); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

// checkReused compares the digests of events applied before with the
// ones given; only a batch holding a redelivery or resend pays for it.
func (t *Tx) checkReused(ctx context.Context, ids []string, digests []*string) error {
	var reused string
	err := t.tx.QueryRow(ctx, `SELECT p.event_id FROM processed_events p
		JOIN unnest($1::text[], $2::text[]) AS x(id, digest) ON p.event_id = x.id
		WHERE p.source_digest IS NOT NULL AND x.digest IS NOT NULL AND p.source_digest <> x.digest LIMIT 1`,
		ids, digests).Scan(&reused)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("comparing digests of applied events: %w", err)
	}
	return fmt.Errorf("%w (id %s)", ErrReusedEventID, reused)
}

// PatientState is everything the router needs to apply facts to a patient.
type PatientState struct {
	Patient    Patient
	Facts      []json.RawMessage
	Log        []LoggedNotification
	Deadlines  []Deadline
	Encounters []Encounter
	Episodes   []Episode
	// DormantBefore is when the patient's dormant history ended (zero when
	// none is dormant); WokeDormant says dormant facts were read because
	// the scope named their subject.
	DormantBefore time.Time
	WokeDormant   bool
}

// Scope says how much of each patient's history LoadPatients reads: the
// facts that are not dormant, with the stays and episodes they are about,
// and the dormant facts of Subjects; with Full, everything.
type Scope struct {
	Full     bool
	Subjects []string
}

// awakeFacts and allFacts, after keysCTE, name the facts LoadPatients reads
// "awake"; for awakeFacts $2 is the scope's subjects. The per-stay tables are read for the
// subjects of those facts only.
const (
	awakeFacts = `, awake AS (SELECT patient_key, subject, fact, dormant, received_at, event_id FROM patient_facts
		WHERE ` + ofKeys + ` AND (NOT dormant OR subject = ANY($2::text[])))`
	allFacts = `, awake AS (SELECT patient_key, subject, fact, dormant, received_at, event_id FROM patient_facts
		WHERE ` + ofKeys + `)`
	encounterSubject = `'encounter/' || encounter_org || '/' || encounter_id`
)

// Episode is the stored form of a municipal or SSIH episode.
type Episode struct {
	ID, PatientKey, OrgID string
	Resource              json.RawMessage
}

// LoggedNotification is a notification as the never-pruned log knows it.
type LoggedNotification struct {
	ID, Kind, OrgID, EncounterOrg, EncounterID string
}

// ErrPatientsMoved means a merge of one of the patients committed while
// LoadPatients waited for their locks: the keys it had resolved are stale.
// Nothing was changed; the caller rolls back and tries again.
var ErrPatientsMoved = errors.New("a patient was merged while its lock was awaited; retry")

// keysCTE resolves $1's patient keys through merges (survivor_key is always
// final, so one lookup suffices).
const keysCTE = `WITH keys AS (SELECT DISTINCT coalesce(m.survivor_key, k) AS key
	FROM unnest($1::text[]) AS k LEFT JOIN patient_merges m ON m.prior_key = k)`

// ofKeys restricts a query under keysCTE to the resolved keys. As an array
// the keys reach the planner as one value it can look up in the patient_key
// index; written as "IN (SELECT key FROM keys)" the planner joined against
// a sequential scan of the whole table, once per batch, so the router
// slowed as history grew (7 ms per query at ten thousand facts).
const ofKeys = `patient_key = ANY (ARRAY(SELECT key FROM keys))`

// LoadPatients locks the patients behind keys and loads their state, in one
// pipelined round trip. resolved maps each key to the key its state is kept
// under (the survivor, for a merged-away key); states is by resolved key and
// has an entry for every resolved key, known or not.
//
// The locks are transaction-scoped advisory locks on the resolved keys,
// taken in key order: they cover patients not stored yet, too, so two hub
// instances never apply facts of one patient at once, and the fixed order
// keeps them from deadlocking. When another instance's merge moved one of
// the keys while the locks were awaited, LoadPatients returns
// ErrPatientsMoved and the transaction must be tried again.
func (t *Tx) LoadPatients(ctx context.Context, keys []string, scope Scope) (resolved map[string]string, states map[string]*PatientState, err error) {
	awake, args := awakeFacts, []any{keys, nonNil(scope.Subjects)}
	if scope.Full {
		awake, args = allFacts, []any{keys}
	}
	b := &pgx.Batch{}
	b.Queue(keysCTE+` SELECT coalesce(array_agg(key), '{}') FROM (
			SELECT key, pg_advisory_xact_lock(hashtextextended(key, 0)) FROM (SELECT key FROM keys ORDER BY key) AS ordered) AS locked`, keys)
	// Resolved once the locks are held: a merge that committed while they
	// were awaited (by another instance) may have moved a key past what
	// was locked. Once every resolved key is locked, no merge of these
	// patients can commit before this transaction ends.
	b.Queue(`SELECT k, coalesce(m.survivor_key, k) FROM unnest($1::text[]) AS k LEFT JOIN patient_merges m ON m.prior_key = k`, keys)
	b.Queue(keysCTE+` SELECT patient_key, coalesce(municipality_code, ''), coalesce(primary_care_hsa, ''), resource, dormant_before
		FROM patients WHERE `+ofKeys, keys)
	b.Queue(keysCTE+awake+` SELECT patient_key, fact, dormant FROM awake ORDER BY received_at, event_id`, args...)
	b.Queue(keysCTE+awake+` SELECT patient_key, id, kind, org_id, encounter_org, encounter_id FROM notification_log
		WHERE `+ofKeys+` AND `+encounterSubject+` IN (SELECT subject FROM awake) ORDER BY id`, args...)
	b.Queue(keysCTE+awake+` SELECT `+deadlineColumns+` FROM deadlines
		WHERE `+ofKeys+` AND `+encounterSubject+` IN (SELECT subject FROM awake)`, args...)
	b.Queue(keysCTE+awake+` SELECT org_id, encounter_id, patient_key, class_code, status, last_event_type, period_start, period_end, resource
		FROM encounters WHERE `+ofKeys+` AND 'encounter/' || org_id || '/' || encounter_id IN (SELECT subject FROM awake)`, args...)
	b.Queue(keysCTE+awake+` SELECT episode_id, patient_key, org_id, resource FROM episodes
		WHERE `+ofKeys+` AND 'episode/' || org_id || '/' || episode_id IN (SELECT subject FROM awake)`, args...)
	br := t.tx.SendBatch(ctx, b)
	defer func() { _ = br.Close() }()

	resolved = make(map[string]string, len(keys))
	states = make(map[string]*PatientState, len(keys))
	state := func(key string) *PatientState {
		st := states[key]
		if st == nil {
			st = &PatientState{Patient: Patient{Key: key}}
			states[key] = st
		}
		return st
	}
	var lockedKeys []string
	if err := br.QueryRow().Scan(&lockedKeys); err != nil {
		return nil, nil, fmt.Errorf("locking patients: %w", err)
	}
	locked := make(map[string]bool, len(lockedKeys))
	for _, k := range lockedKeys {
		locked[k] = true
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("resolving patient keys: %w", err)
	}
	var key, to string
	if _, err := pgx.ForEachRow(rows, []any{&key, &to}, func() error {
		resolved[key] = to
		state(to)
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("resolving patient keys: %w", err)
	}
	for _, to := range resolved {
		if !locked[to] {
			return nil, nil, ErrPatientsMoved
		}
	}
	if err := collectInto(br, "patients", func(r pgx.CollectableRow) error {
		var p Patient
		var before *time.Time
		if err := r.Scan(&p.Key, &p.MunicipalityCode, &p.PrimaryCareHSA, rawJSON(&p.Resource), &before); err != nil {
			return err
		}
		st := state(p.Key)
		st.Patient = p
		if before != nil {
			st.DormantBefore = *before
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := collectInto(br, "facts", func(r pgx.CollectableRow) error {
		var fact json.RawMessage
		var dormant bool
		if err := r.Scan(&key, rawJSON(&fact), &dormant); err != nil {
			return err
		}
		st := state(key)
		st.Facts = append(st.Facts, fact)
		st.WokeDormant = st.WokeDormant || dormant
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := collectInto(br, "notification log", func(r pgx.CollectableRow) error {
		var n LoggedNotification
		if err := r.Scan(&key, &n.ID, &n.Kind, &n.OrgID, &n.EncounterOrg, &n.EncounterID); err != nil {
			return err
		}
		st := state(key)
		st.Log = append(st.Log, n)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := collectInto(br, "deadlines", func(r pgx.CollectableRow) error {
		d, err := scanDeadline(r)
		if err != nil {
			return err
		}
		st := state(d.PatientKey)
		st.Deadlines = append(st.Deadlines, d)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := collectInto(br, "encounters", func(r pgx.CollectableRow) error {
		var e Encounter
		if err := r.Scan(&e.OrgID, &e.ID, &e.PatientKey, &e.ClassCode, &e.Status, &e.LastEventType, &e.PeriodStart, &e.PeriodEnd, rawJSON(&e.Resource)); err != nil {
			return err
		}
		st := state(e.PatientKey)
		st.Encounters = append(st.Encounters, e)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if err := collectInto(br, "episodes", func(r pgx.CollectableRow) error {
		var e Episode
		if err := r.Scan(&e.ID, &e.PatientKey, &e.OrgID, rawJSON(&e.Resource)); err != nil {
			return err
		}
		st := state(e.PatientKey)
		st.Episodes = append(st.Episodes, e)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return resolved, states, nil
}

func collectInto(br pgx.BatchResults, what string, each func(pgx.CollectableRow) error) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("loading %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return fmt.Errorf("loading %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loading %s: %w", what, err)
	}
	return nil
}

// AllocateSequences takes counts[org] consecutive sequence numbers for each
// organisation and returns the first of each. The counter rows stay locked
// until the transaction ends, so each organisation's numbers commit in
// order and without gaps; they are taken in org order so that concurrent
// transactions cannot deadlock on them.
func (t *Tx) AllocateSequences(ctx context.Context, counts map[string]int) (first map[string]int64, err error) {
	orgs := make([]string, 0, len(counts))
	for org := range counts {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	ns := make([]int64, len(orgs))
	for i, org := range orgs {
		ns[i] = int64(counts[org])
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO org_sequences (org_id, last_seq)
		SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1
		ON CONFLICT (org_id) DO UPDATE SET last_seq = org_sequences.last_seq + EXCLUDED.last_seq
		RETURNING org_id, last_seq`, orgs, ns)
	if err != nil {
		return nil, fmt.Errorf("taking sequence numbers: %w", err)
	}
	first = make(map[string]int64, len(orgs))
	var org string
	var last int64
	if _, err := pgx.ForEachRow(rows, []any{&org, &last}, func() error {
		first[org] = last - int64(counts[org]) + 1
		return nil
	}); err != nil {
		return nil, fmt.Errorf("taking sequence numbers: %w", err)
	}
	return first, nil
}

// Fact is one fact of a patient's timeline, stored as the rules' own JSON.
type Fact struct {
	EventID, PatientKey string
	JSON                json.RawMessage
}

// Unroutable is a notification the rules could not address.
type Unroutable struct {
	PatientKey  string
	Reason      string
	FirstSeen   time.Time
	LastSeen    time.Time
	LastEventID string
}

// Writes is everything one batch changes; Write stores it in one round
// trip. Patients, encounters, episodes and unroutable entries must be unique
// by key (the last state of each), as one statement cannot change a row
// twice.
type Writes struct {
	Patients       []Patient
	Encounters     []Encounter
	Episodes       []Episode
	Facts          []Fact
	Notifications  []Notification
	Deliveries     []Delivery
	Deadlines      []Deadline
	SettledCancels []string // ids of pending deadlines to cancel
	Unroutable     []Unroutable
	Dormancy       []Dormancy
}

// ErrNotificationRace means a notification of the batch existed already:
// another router wrote it meanwhile. The batch must roll back and run
// again, or its sequence numbers would leave a gap.
var ErrNotificationRace = errors.New("a notification of the batch was written concurrently; retry the batch")

// Write stores a batch's changes, pipelined in one round trip.
func (t *Tx) Write(ctx context.Context, w *Writes, settledAt time.Time) error {
	b := &pgx.Batch{}
	if n := len(w.Patients); n > 0 {
		keys, codes, hsas := make([]string, n), make([]string, n), make([]string, n)
		res := make([]*string, n)
		for i, p := range w.Patients {
			keys[i], codes[i], hsas[i], res[i] = p.Key, p.MunicipalityCode, p.PrimaryCareHSA, jsonText(p.Resource)
		}
		b.Queue(`INSERT INTO patients (patient_key, municipality_code, primary_care_hsa, resource, updated_at)
			SELECT k, NULLIF(m, ''), NULLIF(h, ''), r::json, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(k, m, h, r)
			ON CONFLICT (patient_key) DO UPDATE SET municipality_code = EXCLUDED.municipality_code,
				primary_care_hsa = EXCLUDED.primary_care_hsa, resource = EXCLUDED.resource, updated_at = now()`,
			keys, codes, hsas, res)
	}
	if n := len(w.Encounters); n > 0 {
		orgs, ids, keys, classes, statuses, types, res := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		starts, ends := make([]*time.Time, n), make([]*time.Time, n)
		for i, e := range w.Encounters {
			orgs[i], ids[i], keys[i], classes[i], statuses[i], types[i] = e.OrgID, e.ID, e.PatientKey, e.ClassCode, e.Status, e.LastEventType
			starts[i], ends[i], res[i] = e.PeriodStart, e.PeriodEnd, string(e.Resource)
		}
		b.Queue(`INSERT INTO encounters (org_id, encounter_id, patient_key, class_code, status, last_event_type,
				period_start, period_end, resource, updated_at)
			SELECT o, i, k, c, s, t, ps, pe, r::jsonb, now()
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[])
				AS x(o, i, k, c, s, t, ps, pe, r)
			ON CONFLICT (org_id, encounter_id) DO UPDATE SET patient_key = EXCLUDED.patient_key,
				class_code = EXCLUDED.class_code, status = EXCLUDED.status, last_event_type = EXCLUDED.last_event_type,
				period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
				resource = EXCLUDED.resource, updated_at = now()`,
			orgs, ids, keys, classes, statuses, types, starts, ends, res)
	}
	if n := len(w.Episodes); n > 0 {
		ids, keys, orgs, res := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range w.Episodes {
			ids[i], keys[i], orgs[i], res[i] = e.ID, e.PatientKey, e.OrgID, string(e.Resource)
		}
		b.Queue(`INSERT INTO episodes (episode_id, patient_key, org_id, resource)
			SELECT i, k, o, r::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(i, k, o, r)
			ON CONFLICT (org_id, episode_id) DO UPDATE SET resource = EXCLUDED.resource,
				patient_key = EXCLUDED.patient_key, updated_at = now()`, ids, keys, orgs, res)
	}
	if n := len(w.Facts); n > 0 {
		ids, keys, facts := make([]string, n), make([]string, n), make([]string, n)
		for i, f := range w.Facts {
			ids[i], keys[i], facts[i] = f.EventID, f.PatientKey, string(f.JSON)
		}
		b.Queue(`INSERT INTO patient_facts (event_id, patient_key, fact)
			SELECT i, k, f::json FROM unnest($1::text[], $2::text[], $3::text[]) AS x(i, k, f)
			ON CONFLICT (event_id) DO NOTHING`, ids, keys, facts)
	}
	notifications, notificationsAt := len(w.Notifications), -1
	if n := notifications; n > 0 {
		notificationsAt = b.Len()
		ids, orgs, kinds, keys, encIDs, eventIDs, ces, encOrgs := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		seqs := make([]int64, n)
		for i, x := range w.Notifications {
			ids[i], orgs[i], kinds[i], keys[i], encIDs[i], eventIDs[i] = x.ID, x.OrgID, x.Kind, x.PatientKey, x.EncounterID, x.EventID
			ces[i], seqs[i], encOrgs[i] = string(x.CloudEvent), x.Seq, x.EncounterOrg
		}
		b.Queue(`WITH ins AS (
				INSERT INTO notifications (id, org_id, kind, patient_key, encounter_id, event_id, status, cloudevent, seq)
				SELECT i, o, k, p, e, ev, $10, ce::json, s
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[])
					AS x(i, o, k, p, e, ev, ce, s, eo)
				ON CONFLICT (id) DO NOTHING RETURNING id, org_id, kind, patient_key, encounter_id),
			queued AS (
				INSERT INTO outbox (notification_id)
				SELECT x.i FROM unnest($1::text[]) WITH ORDINALITY AS x(i, n) WHERE x.i IN (SELECT id FROM ins) ORDER BY x.n)
			INSERT INTO notification_log (id, patient_key, kind, org_id, encounter_org, encounter_id)
			SELECT ins.id, ins.patient_key, ins.kind, ins.org_id, x.eo, ins.encounter_id
			FROM ins JOIN unnest($1::text[], $9::text[]) AS x(i, eo) ON x.i = ins.id
			ON CONFLICT (id) DO NOTHING`,
			ids, orgs, kinds, keys, encIDs, eventIDs, ces, seqs, encOrgs, StatusPending)
	}
	if n := len(w.Deliveries); n > 0 {
		ids, endpoints, orgs, keys := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		seqs := make([]int64, n)
		for i, d := range w.Deliveries {
			ids[i], endpoints[i], orgs[i], keys[i], seqs[i] = d.NotificationID, d.Endpoint, d.OrgID, d.PatientKey, d.Seq
		}
		b.Queue(`INSERT INTO webhook_deliveries (notification_id, endpoint, org_id, patient_key, seq)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) ON CONFLICT DO NOTHING`,
			ids, endpoints, orgs, keys, seqs)
	}
	if n := len(w.Deadlines); n > 0 {
		cols := make([][]string, 9)
		for i := range cols {
			cols[i] = make([]string, n)
		}
		due := make([]time.Time, n)
		for i, d := range w.Deadlines {
			for j, v := range []string{d.ID, d.PatientKey, d.Kind, d.OrgID, d.EscalateTo, d.NotificationID, d.EncounterOrg, d.EncounterID, d.Reason} {
				cols[j][i] = v
			}
			due[i] = d.DueAt
		}
		b.Queue(`INSERT INTO deadlines (id, patient_key, kind, org_id, escalate_to, notification_id, encounter_org, encounter_id, reason, due_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
			ON CONFLICT (id) DO NOTHING`,
			cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], due)
	}
	if len(w.SettledCancels) > 0 {
		b.Queue(`UPDATE deadlines SET status = $2, settled_at = $3 WHERE id = ANY($1) AND status = 'pending'`,
			w.SettledCancels, DeadlineCancelled, settledAt)
	}
	queueDormancy(b, w.Dormancy)
	if n := len(w.Unroutable); n > 0 {
		keys, reasons, events := make([]string, n), make([]string, n), make([]string, n)
		for i, u := range w.Unroutable {
			keys[i], reasons[i], events[i] = u.PatientKey, u.Reason, u.LastEventID
		}
		b.Queue(`INSERT INTO unroutable (patient_key, reason, last_event_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
			ON CONFLICT (patient_key, reason) DO UPDATE SET last_seen = clock_timestamp(), last_event_id = EXCLUDED.last_event_id`,
			keys, reasons, events)
	}
	if b.Len() == 0 {
		return nil
	}
	br := t.tx.SendBatch(ctx, b)
	defer func() { _ = br.Close() }()
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("writing the batch's changes: %w", err)
		}
		// The notifications statement's count is that of the log rows,
		// one per new notification.
		if i == notificationsAt && int(tag.RowsAffected()) != notifications {
			return ErrNotificationRace
		}
	}
	return br.Close()
}

// rawJSON scans a json or jsonb column as the bytes PostgreSQL sent:
// scanning into a json.RawMessage makes pgx run json.Unmarshal on every
// value, which showed up as a tenth of the router's CPU.
func rawJSON(m *json.RawMessage) *[]byte { return (*[]byte)(m) }

func jsonText(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
