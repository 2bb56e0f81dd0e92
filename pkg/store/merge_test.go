package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/carehub/carehub/internal/testsupport"
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
		if _, _, err := tx.LoadPatients(ctx, []string{"A", "B", "C"}, store.Scope{}); err != nil {
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
		resolved, states, err := tx.LoadPatients(ctx, []string{"A"}, store.Scope{})
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

// TestLoadPatientsNoticesAMergeCommittedWhileWaiting: another hub instance
// merges P into S while this transaction waits for P's lock. What it
// locked is then no longer where P's state lives: loading must fail with
// ErrPatientsMoved, so the caller tries again, rather than hand out S's
// state without S's lock. Tried again, P resolves to S with both
// patients' facts.
func TestLoadPatientsNoticesAMergeCommittedWhileWaiting(t *testing.T) {
	s := openStore(t)
	ctx := testContext(t)
	fact := json.RawMessage(`{"EventID":"x"}`)
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.LoadPatients(ctx, []string{"P", "S"}, store.Scope{}); err != nil {
			return err
		}
		w := store.Writes{
			Patients: []store.Patient{{Key: "P"}, {Key: "S"}},
			Facts:    []store.Fact{{EventID: "fp", PatientKey: "P", JSON: fact}, {EventID: "fs", PatientKey: "S", JSON: fact}},
		}
		return tx.Write(ctx, &w, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}

	commit := testsupport.HoldMerge(t, ctx, s, "P", "S")

	loaded := make(chan error, 1)
	go func() {
		loaded <- s.InTx(ctx, func(tx *store.Tx) error {
			resolved, _, err := tx.LoadPatients(ctx, []string{"P"}, store.Scope{})
			if err == nil {
				t.Errorf("loading P while it was merged resolved it to %q without an error", resolved["P"])
			}
			return err
		})
	}()
	testsupport.WaitForLockWaiter(t, ctx, s)
	if err := commit(); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if err := <-loaded; !errors.Is(err, store.ErrPatientsMoved) {
		t.Fatalf("loading P across the merge: %v, want ErrPatientsMoved", err)
	}

	err = s.InTx(ctx, func(tx *store.Tx) error {
		resolved, states, err := tx.LoadPatients(ctx, []string{"P"}, store.Scope{})
		if err != nil {
			return err
		}
		if resolved["P"] != "S" || len(states["S"].Facts) != 2 {
			t.Errorf("tried again, P resolves to %q with %d facts, want S with 2", resolved["P"], len(states[resolved["P"]].Facts))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
