package router

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/transition"
)

// A batch is applied set-wise: its events are marked processed in one
// statement, the patients they touch are locked and loaded in one round
// trip, the rules run in memory event by event — each seeing the state the
// earlier ones left, exactly as if they had been applied singly — and
// everything decided is written in one more round trip. A merge (A40)
// splits the batch: what comes before it is written first, so the merge
// moves it too.

// patientWork is one patient's state while a batch is applied.
type patientWork struct {
	// full means the whole history was read, dormant facts too;
	// wokeDormant that some dormant facts were read; dormantBefore is the
	// stored horizon of the dormant history.
	full          bool
	wokeDormant   bool
	dormantBefore time.Time
	patient       store.Patient
	facts         []transition.Fact
	log           map[string]store.LoggedNotification
	deadlines     map[string]*store.Deadline
	encounters    map[string]*store.Encounter // by org/id
	episodes      map[string]json.RawMessage
}

// newNotification is a notification decided in a batch, with the state it
// is about as it was when it was decided; it is rendered once its sequence
// number is known.
type newNotification struct {
	n          transition.Notification
	cancels    string
	patientKey string
	patientRes json.RawMessage
	encounter  store.Encounter
	episode    json.RawMessage
}

// work is what a batch changes, collected for one write.
type work struct {
	resolved      map[string]string // event patient key → key the state is kept under
	patients      map[string]*patientWork
	dirtyPatients []string
	encounters    map[string]*store.Encounter
	encounterKeys []string
	episodes      map[string]store.Episode
	episodeKeys   []string
	facts         []store.Fact
	notifications []newNotification
	deadlines     []store.Deadline
	cancelled     []string
	unroutable    map[[2]string]store.Unroutable
}

// ownedKey names an encounter or episode by its organisation and the id
// that organisation gave it.
func ownedKey(org, id string) string { return org + "/" + id }

// applyBatch applies items (decoded, in stream order) in tx.
func (r *Router) applyBatch(ctx context.Context, tx *store.Tx, items []pending) error {
	start := 0
	for i, p := range items {
		if p.fact.mergedFrom == "" {
			continue
		}
		if err := r.applySegment(ctx, tx, items[start:i]); err != nil {
			return err
		}
		if err := r.applyMerge(ctx, tx, p); err != nil {
			return err
		}
		start = i + 1
	}
	return r.applySegment(ctx, tx, items[start:])
}

// fresh marks items processed and returns those never applied before, each
// once.
func fresh(ctx context.Context, tx *store.Tx, items []pending) ([]pending, error) {
	events := make([]store.ProcessedEvent, len(items))
	for i, p := range items {
		events[i] = store.ProcessedEvent{ID: p.ce.ID(), Type: p.ce.Type(), PatientKey: p.fact.patientKey, StreamSeq: p.seq,
			Digest: careevent.SourceDigest(p.ce)}
	}
	isNew, err := tx.MarkProcessedEvents(ctx, events)
	if errors.Is(err, store.ErrReusedEventID) {
		// Beyond JetStream's duplicate window only the router can tell; the
		// sender was answered already, so the event is parked for people.
		return nil, fmt.Errorf("%w: %w", errPoison, err)
	}
	if err != nil {
		return nil, err
	}
	out := items[:0:0]
	for _, p := range items {
		if isNew[p.ce.ID()] {
			delete(isNew, p.ce.ID()) // a second copy in the same batch is a duplicate
			out = append(out, p)
		}
	}
	return out, nil
}

func (r *Router) applySegment(ctx context.Context, tx *store.Tx, items []pending) error {
	if len(items) == 0 {
		return nil
	}
	todo, err := fresh(ctx, tx, items)
	if err != nil || len(todo) == 0 {
		return err
	}
	w, err := r.load(ctx, tx, todo)
	if err != nil {
		return err
	}
	for _, p := range todo {
		if p.fact.fact.Encounter == nil && p.fact.fact.Episode == nil {
			continue // recorded as processed; nothing for the rules
		}
		if err := r.applyFact(w, p.fact); err != nil {
			return err
		}
	}
	return r.flush(ctx, tx, w)
}

// applyMerge applies an A40: the prior patient's timeline joins the
// survivor's, and the rules run over the joined timeline — a readmission or
// a home-to-hospital that only the two records together show is found now.
// Notifications both records already produced have the same ids and are not
// sent again.
func (r *Router) applyMerge(ctx context.Context, tx *store.Tx, p pending) error {
	todo, err := fresh(ctx, tx, []pending{p})
	if err != nil || len(todo) == 0 {
		return err
	}
	resolved, _, err := tx.LoadPatients(ctx, []string{p.fact.patientKey, p.fact.mergedFrom}, store.Scope{})
	if err != nil {
		return err
	}
	survivor := resolved[p.fact.patientKey]
	if resolved[p.fact.mergedFrom] == survivor {
		return nil // merged before
	}
	if err := tx.MergePatients(ctx, p.fact.mergedFrom, survivor, p.ce.ID()); err != nil {
		return err
	}
	// The joined timeline has not been judged as a whole: what one record
	// let go dormant may matter to the other's stays.
	w, err := r.loadScope(ctx, tx, []string{survivor}, store.Scope{Full: true})
	if err != nil {
		return err
	}
	pw := w.patients[survivor]
	if len(pw.facts) == 0 {
		return nil
	}
	w.touchPatient(survivor)
	if err := r.evaluate(w, survivor, pw, p.fact.fact.EventID); err != nil {
		return err
	}
	return r.flush(ctx, tx, w)
}

// load locks and reads the patients the items are about: the history
// that is not dormant, and all of it for a patient whose items wake a
// dormant stay or episode or are dated before its dormant horizon.
func (r *Router) load(ctx context.Context, tx *store.Tx, items []pending) (*work, error) {
	keys := make([]string, 0, len(items))
	var subjects []string
	for _, p := range items {
		keys = append(keys, p.fact.patientKey)
		if s := transition.Subject(p.fact.fact); s != "" {
			subjects = append(subjects, s)
		}
	}
	w, err := r.loadScope(ctx, tx, keys, store.Scope{Subjects: subjects})
	if err != nil {
		return nil, err
	}
	horizon := transition.DormancyHorizon(r.cfg.Rules)
	var again []string
	for _, p := range items {
		key := w.resolved[p.fact.patientKey]
		pw := w.patients[key]
		if pw == nil || pw.full || slices.Contains(again, key) {
			continue
		}
		if pw.wokeDormant || (!pw.dormantBefore.IsZero() && p.fact.fact.At.Before(pw.dormantBefore.Add(horizon))) {
			again = append(again, key)
		}
	}
	if len(again) == 0 {
		return w, nil
	}
	full, err := r.loadScope(ctx, tx, again, store.Scope{Full: true})
	if err != nil {
		return nil, err
	}
	for _, key := range again {
		w.patients[key] = full.patients[key]
	}
	return w, nil
}

// loadScope locks and reads the patients behind keys, as much of their
// history as scope says.
func (r *Router) loadScope(ctx context.Context, tx *store.Tx, keys []string, scope store.Scope) (*work, error) {
	resolved, states, err := tx.LoadPatients(ctx, keys, scope)
	if err != nil {
		return nil, err
	}
	w := &work{resolved: resolved, patients: make(map[string]*patientWork, len(states)),
		encounters: map[string]*store.Encounter{}, episodes: map[string]store.Episode{}, unroutable: map[[2]string]store.Unroutable{}}
	for key, st := range states {
		pw := &patientWork{
			full:          scope.Full,
			wokeDormant:   st.WokeDormant,
			dormantBefore: st.DormantBefore,
			patient:       st.Patient,
			facts:         make([]transition.Fact, 0, len(st.Facts)+1),
			log:           make(map[string]store.LoggedNotification, len(st.Log)),
			deadlines:     make(map[string]*store.Deadline, len(st.Deadlines)),
			encounters:    make(map[string]*store.Encounter, len(st.Encounters)),
			episodes:      make(map[string]json.RawMessage, len(st.Episodes)),
		}
		for _, b := range st.Facts {
			var f transition.Fact
			if err := json.Unmarshal(b, &f); err != nil {
				return nil, fmt.Errorf("%w: stored fact: %w", errPoison, err)
			}
			pw.facts = append(pw.facts, f)
		}
		for _, n := range st.Log {
			pw.log[n.ID] = n
		}
		for i := range st.Deadlines {
			pw.deadlines[st.Deadlines[i].ID] = &st.Deadlines[i]
		}
		for i := range st.Encounters {
			e := &st.Encounters[i]
			pw.encounters[ownedKey(e.OrgID, e.ID)] = e
		}
		for _, e := range st.Episodes {
			pw.episodes[ownedKey(e.OrgID, e.ID)] = e.Resource
		}
		w.patients[key] = pw
	}
	return w, nil
}

// applyFact applies one new fact to its patient in memory and runs the
// rules.
func (r *Router) applyFact(w *work, f decodedFact) error {
	key := w.resolved[f.patientKey]
	pw := w.patients[key]
	if pw == nil {
		return fmt.Errorf("patient state for the event's key was not loaded")
	}
	pw.patient = mergePatient(pw.patient, key, f)
	w.touchPatient(key)
	if e := f.fact.Encounter; e != nil {
		enc := &store.Encounter{
			OrgID: e.OrgID, ID: e.ID, PatientKey: key, ClassCode: e.ClassCode, Status: e.Status,
			LastEventType: string(f.fact.Type), PeriodStart: e.Start, PeriodEnd: e.End, Resource: f.focus.Raw,
		}
		k := ownedKey(e.OrgID, e.ID)
		pw.encounters[k] = enc
		if _, seen := w.encounters[k]; !seen {
			w.encounterKeys = append(w.encounterKeys, k)
		}
		w.encounters[k] = enc
	} else {
		ep := store.Episode{ID: f.fact.Episode.ID, PatientKey: key, OrgID: f.fact.Episode.OrgID, Resource: f.focus.Raw}
		// Episode ids are the owner's own: two organisations may use the
		// same id for different episodes.
		k := ownedKey(ep.OrgID, ep.ID)
		pw.episodes[k] = ep.Resource
		if _, seen := w.episodes[k]; !seen {
			w.episodeKeys = append(w.episodeKeys, k)
		}
		w.episodes[k] = ep
	}
	factJSON, err := json.Marshal(f.fact)
	if err != nil {
		return fmt.Errorf("encoding fact: %w", err)
	}
	w.facts = append(w.facts, store.Fact{EventID: f.fact.EventID, PatientKey: key, JSON: factJSON})
	pw.facts = append(pw.facts, f.fact)
	return r.evaluate(w, key, pw, f.fact.EventID)
}

func (w *work) touchPatient(key string) {
	if !slices.Contains(w.dirtyPatients, key) {
		w.dirtyPatients = append(w.dirtyPatients, key)
	}
}

// evaluate applies the rules to the patient's whole timeline and brings the
// notifications in line: new ones are created, and ones whose facts were
// cancelled are retracted with a cancellation notice. eventID is the event
// that caused the evaluation, recorded with unroutable outcomes.
func (r *Router) evaluate(w *work, key string, pw *patientWork, eventID string) error {
	p := pw.patient
	decision := transition.Evaluate(transition.Timeline{
		Patient: transition.Patient{Key: key, MunicipalityCode: p.MunicipalityCode, PrimaryCareHSA: p.PrimaryCareHSA},
		Facts:   pw.facts,
	}, rulesDirectory{r.dir}, r.cfg.Rules)
	for _, reason := range decision.Unresolved {
		r.log.Warn("router: receiver not found", zap.String("patient_key", key), zap.String("reason", reason))
		w.unroutable[[2]string{key, reason}] = store.Unroutable{PatientKey: key, Reason: reason, LastEventID: eventID}
	}
	want := make(map[string]bool, len(decision.Notifications))
	for _, n := range decision.Notifications {
		n.ID = pw.live(n.ID)
		want[n.ID] = true
		if _, ok := pw.log[n.ID]; ok {
			continue
		}
		if err := w.add(key, pw, n, ""); err != nil {
			return err
		}
	}
	for i, d := range decision.Deadlines {
		if d.NotificationID != "" {
			decision.Deadlines[i].NotificationID = pw.live(d.NotificationID)
		}
	}
	w.syncDeadlines(key, pw, decision.Deadlines)

	stays := map[string]bool{}
	for _, f := range pw.facts {
		if f.Encounter != nil {
			stays[ownedKey(f.Encounter.OrgID, f.Encounter.ID)] = true
		}
	}
	logged := make([]string, 0, len(pw.log))
	for id := range pw.log {
		logged = append(logged, id)
	}
	slices.Sort(logged)
	for _, id := range logged {
		old := pw.log[id]
		if old.Kind == string(careevent.KindCancelled) || old.Kind == string(careevent.KindOverdue) ||
			old.Kind == string(careevent.KindPaymentResponsibility) || want[old.ID] || !stays[ownedKey(old.EncounterOrg, old.EncounterID)] {
			continue
		}
		cancelID := transition.CancellationID(old.ID)
		if _, done := pw.log[cancelID]; done {
			continue
		}
		n := transition.Notification{ID: cancelID, Kind: careevent.KindCancelled, OrgID: old.OrgID,
			EncounterOrg: old.EncounterOrg, EncounterID: old.EncounterID,
			Reason: fmt.Sprintf("retracts %s notification %s: the facts behind it were cancelled", old.Kind, old.ID)}
		if err := w.add(key, pw, n, old.ID); err != nil {
			return err
		}
	}
	return nil
}

// live is the id under which the notification with the rules' id stands or
// is to be sent: the id itself, unless a notification under it was sent and
// retracted — then the reissue, followed as far as it goes.
func (pw *patientWork) live(id string) string {
	for {
		if _, sent := pw.log[id]; !sent {
			return id
		}
		if _, retracted := pw.log[transition.CancellationID(id)]; !retracted {
			return id
		}
		id = transition.ReissueID(id)
	}
}

// add records a new notification with the state it is about.
func (w *work) add(key string, pw *patientWork, n transition.Notification, cancels string) error {
	enc, ok := pw.encounters[ownedKey(n.EncounterOrg, n.EncounterID)]
	if !ok {
		return fmt.Errorf("%w: notification about unknown encounter", errPoison)
	}
	nn := newNotification{n: n, cancels: cancels, patientKey: key, patientRes: pw.patient.Resource, encounter: *enc}
	if n.Episode != nil {
		nn.episode = pw.episodes[ownedKey(n.Episode.OrgID, n.Episode.ID)]
	}
	pw.log[n.ID] = store.LoggedNotification{ID: n.ID, Kind: string(n.Kind), OrgID: n.OrgID, EncounterOrg: n.EncounterOrg, EncounterID: n.EncounterID}
	w.notifications = append(w.notifications, nn)
	return nil
}

// syncDeadlines stores the deadlines the rules set and cancels pending ones
// they no longer set (the patient was discharged, readiness withdrawn).
func (w *work) syncDeadlines(key string, pw *patientWork, want []transition.Deadline) {
	wanted := make(map[string]bool, len(want))
	for _, d := range want {
		wanted[d.ID] = true
		if _, have := pw.deadlines[d.ID]; have {
			continue
		}
		row := store.Deadline{ID: d.ID, PatientKey: key, Kind: d.Kind, OrgID: d.OrgID,
			EscalateTo: d.EscalateTo, DueAt: d.DueAt, NotificationID: d.NotificationID, EncounterOrg: d.EncounterOrg,
			EncounterID: d.EncounterID, Reason: d.Reason, Status: store.DeadlinePending}
		pw.deadlines[d.ID] = &row
		w.deadlines = append(w.deadlines, row)
	}
	ids := make([]string, 0, len(pw.deadlines))
	for id := range pw.deadlines {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if d := pw.deadlines[id]; d.Status == store.DeadlinePending && !wanted[id] {
			d.Status = store.DeadlineCancelled
			w.cancelled = append(w.cancelled, id)
		}
	}
}

// flush numbers the batch's notifications, renders them and writes
// everything.
func (r *Router) flush(ctx context.Context, tx *store.Tx, w *work) error {
	var writes store.Writes
	if len(w.notifications) > 0 {
		counts := map[string]int{}
		for _, nn := range w.notifications {
			counts[nn.n.OrgID]++
		}
		next, err := tx.AllocateSequences(ctx, counts)
		if err != nil {
			return err
		}
		for _, nn := range w.notifications {
			seq := next[nn.n.OrgID]
			next[nn.n.OrgID]++
			row, err := r.render(nn.patientKey, nn.patientRes, nn.n, seq, nn.cancels, nn.encounter, nn.episode)
			if err != nil {
				return err
			}
			writes.Notifications = append(writes.Notifications, row)
			writes.Deliveries = append(writes.Deliveries, r.deliveries(nn.n, nn.patientKey, seq)...)
		}
	}
	for _, key := range w.dirtyPatients {
		writes.Patients = append(writes.Patients, w.patients[key].patient)
	}
	for _, k := range w.encounterKeys {
		writes.Encounters = append(writes.Encounters, *w.encounters[k])
	}
	for _, k := range w.episodeKeys {
		writes.Episodes = append(writes.Episodes, w.episodes[k])
	}
	writes.Facts, writes.Deadlines, writes.SettledCancels = w.facts, w.deadlines, w.cancelled
	writes.Dormancy = r.dormancy(w)
	for _, u := range w.unroutable {
		writes.Unroutable = append(writes.Unroutable, u)
	}
	slices.SortFunc(writes.Unroutable, func(a, b store.Unroutable) int {
		return cmp.Or(cmp.Compare(a.PatientKey, b.PatientKey), cmp.Compare(a.Reason, b.Reason))
	})
	return tx.Write(ctx, &writes, r.now())
}

// deliveries schedules a notification for each of the receiver's webhooks
// that wants its kind.
func (r *Router) deliveries(n transition.Notification, patientKey string, seq int64) []store.Delivery {
	receiver, _ := r.dir.Organisation(n.OrgID)
	var out []store.Delivery
	for _, hook := range receiver.Webhooks {
		if hook.Wants(string(n.Kind)) {
			out = append(out, store.Delivery{NotificationID: n.ID, Endpoint: hook.Key(n.OrgID), OrgID: n.OrgID, PatientKey: patientKey, Seq: seq})
		}
	}
	return out
}

// dormancy decides, for each patient the batch changed, which of the
// stays and episodes read are dormant now (transition.Dormant).
func (r *Router) dormancy(w *work) []store.Dormancy {
	var out []store.Dormancy
	for _, key := range w.dirtyPatients {
		pw := w.patients[key]
		dormant, before := transition.Dormant(pw.facts, r.cfg.Rules)
		if !pw.full && pw.dormantBefore.After(before) {
			before = pw.dormantBefore // the history not read is as dormant as it was
		}
		if len(dormant) == 0 && !pw.wokeDormant && before.Equal(pw.dormantBefore) {
			continue
		}
		seen := map[string]bool{}
		var read []string
		for _, f := range pw.facts {
			if s := transition.Subject(f); s != "" && !seen[s] {
				seen[s] = true
				read = append(read, s)
			}
		}
		out = append(out, store.Dormancy{PatientKey: key, Read: read, Dormant: dormant, Before: before})
	}
	return out
}
