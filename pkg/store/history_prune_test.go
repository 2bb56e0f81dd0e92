package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/store"
)

// TestPruneHistory: a patient not heard of within the retention, with
// nothing open, goes entirely; one with an open stay, an active episode or
// a pending deadline stays; of a patient still in care only the dormant
// history goes.
func TestPruneHistory(t *testing.T) {
	ctx := testContext(t)
	s := openStore(t)
	long := time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC)
	var w store.Writes
	stay := func(key, id, status string) {
		w.Encounters = append(w.Encounters, store.Encounter{OrgID: "ryhov", ID: id, PatientKey: key, ClassCode: "IMP", Status: status,
			LastEventType: "x", PeriodStart: &long, Resource: json.RawMessage(`{}`)})
		w.Facts = append(w.Facts, store.Fact{EventID: "ev-" + id, PatientKey: key,
			JSON: json.RawMessage(`{"Encounter":{"OrgID":"ryhov","ID":"` + id + `"}}`)})
	}
	for _, key := range []string{"gone", "open-stay", "open-episode", "deadline", "in-care"} {
		w.Patients = append(w.Patients, store.Patient{Key: key, MunicipalityCode: "0680", Resource: json.RawMessage(`{"resourceType":"Patient"}`)})
	}
	stay("gone", "g1", "finished")
	stay("open-stay", "o1", "in-progress")
	stay("open-episode", "e1", "finished")
	w.Episodes = append(w.Episodes, store.Episode{ID: "ep1", PatientKey: "open-episode", OrgID: "jonkoping-kommun",
		Resource: json.RawMessage(`{"resourceType":"EpisodeOfCare","status":"active"}`)})
	stay("deadline", "d1", "finished")
	w.Deadlines = append(w.Deadlines, store.Deadline{ID: "dl-1", PatientKey: "deadline", Kind: "sip", OrgID: "rjl-vc-haga",
		DueAt: long, EncounterOrg: "ryhov", EncounterID: "d1", Reason: "r"})
	stay("in-care", "c-old", "finished")
	stay("in-care", "c-new", "in-progress")
	w.Dormancy = []store.Dormancy{{PatientKey: "in-care", Read: []string{"encounter/ryhov/c-old", "encounter/ryhov/c-new"},
		Dormant: []string{"encounter/ryhov/c-old"}, Before: time.Now().Add(-time.Minute)}}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.Write(ctx, &w, long) }); err != nil {
		t.Fatal(err)
	}

	// Nothing is older than a retention ending an hour ago.
	if st, err := s.PruneHistory(ctx, time.Now().Add(-time.Hour)); err != nil || st.Patients != 0 || st.Facts != 0 {
		t.Fatalf("PruneHistory before the retention: %+v, %v; want nothing pruned", st, err)
	}
	st, err := s.PruneHistory(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 1 || st.Facts != 1 || st.Encounters != 1 {
		t.Errorf("pruned %+v, want one whole patient and one dormant stay", st)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		_, states, err := tx.LoadPatients(ctx, []string{"gone", "open-stay", "open-episode", "deadline", "in-care"}, store.Scope{Full: true})
		if err != nil {
			return err
		}
		for key, want := range map[string]int{"gone": 0, "open-stay": 1, "open-episode": 1, "deadline": 1, "in-care": 1} {
			st := states[key]
			if len(st.Facts) != want || len(st.Encounters) != want {
				t.Errorf("%s keeps %d facts and %d stays, want %d", key, len(st.Facts), len(st.Encounters), want)
			}
			if (want == 0) != (st.Patient.Resource == nil) {
				t.Errorf("%s: Patient resource kept = %v", key, st.Patient.Resource != nil)
			}
		}
		if enc := states["in-care"].Encounters; len(enc) == 1 && enc[0].ID != "c-new" {
			t.Errorf("in-care kept stay %s, want the open one", enc[0].ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
