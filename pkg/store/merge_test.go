package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/store"
)

// TestMergePatientsResolvesChains: after A→B and then B→C, facts, the
// residence and the state of A and B are all found under C, and an event
// for A reads C's state.
func TestMergePatientsResolvesChains(t *testing.T) {
	s := openStore(t)
	ctx := testContext(t)
	fact := json.RawMessage(`{"EventID":"x"}`)
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.LoadPatients(ctx, []string{"A", "B", "C"}); err != nil {
			return err
		}
		w := store.Writes{
			Patients: []store.Patient{{Key: "A", MunicipalityCode: "0680"}, {Key: "B", PrimaryCareHSA: "SE2321000057-4455"}, {Key: "C"}},
			Facts:    []store.Fact{{EventID: "fa", PatientKey: "A", JSON: fact}, {EventID: "fb", PatientKey: "B", JSON: fact}, {EventID: "fc", PatientKey: "C", JSON: fact}},
		}
		if err := tx.Write(ctx, &w, time.Now()); err != nil {
			return err
		}
		if err := tx.MergePatients(ctx, "A", "B", "m1"); err != nil {
			return err
		}
		if err := tx.MergePatients(ctx, "B", "C", "m2"); err != nil {
			return err
		}
		// Merging a key into itself changes nothing.
		return tx.MergePatients(ctx, "C", "C", "m3")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		resolved, states, err := tx.LoadPatients(ctx, []string{"A"})
		if err != nil {
			return err
		}
		st := states[resolved["A"]]
		if resolved["A"] != "C" || st == nil || len(st.Facts) != 3 {
			t.Fatalf("A resolves to %q with state %+v, want C with 3 facts", resolved["A"], st)
		}
		if st.Patient.MunicipalityCode != "0680" || st.Patient.PrimaryCareHSA != "SE2321000057-4455" {
			t.Errorf("residence and listing not carried over: %+v", st.Patient)
		}
		for _, gone := range []string{"A", "B"} {
			if _, ok, err := tx.Patient(ctx, gone); err != nil || ok {
				t.Errorf("patient %s still exists after its merge (err %v)", gone, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
