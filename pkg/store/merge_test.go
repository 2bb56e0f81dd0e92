package store_test

import (
	"encoding/json"
	"testing"

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
		if err := tx.WriteState(ctx, store.Patient{Key: "A", MunicipalityCode: "0680"}, nil, nil, "fa", fact); err != nil {
			return err
		}
		if err := tx.WriteState(ctx, store.Patient{Key: "B", PrimaryCareHSA: "SE2321000057-4455"}, nil, nil, "fb", fact); err != nil {
			return err
		}
		if err := tx.WriteState(ctx, store.Patient{Key: "C"}, nil, nil, "fc", fact); err != nil {
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
		st, err := tx.Prefetch(ctx, "late-event-for-A", "se.carehub.encounter.updated", "A", 1)
		if err != nil {
			return err
		}
		if st.Patient.Key != "C" || len(st.Facts) != 3 {
			t.Errorf("A resolves to %q with %d facts, want C with 3", st.Patient.Key, len(st.Facts))
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
