package store_test

import (
	"fmt"
	"testing"

	"github.com/carehub/carehub/pkg/store"
)

// TestAuditTrailNewestFirstAcrossMerges: the trail is read newest first a
// page at a time, and a patient merged into another (A40) is one person
// whichever key the auditor asks about.
func TestAuditTrailNewestFirstAcrossMerges(t *testing.T) {
	ctx := testContext(t)
	s := openStore(t)
	record := func(key, outcome string) {
		t.Helper()
		if err := s.Audit(ctx, store.AuditEntry{OrgID: "jonkoping-kommun", PatientKey: key, Channel: "api", Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	record("prior", "read-1")
	record("survivor", "read-2")
	record("stranger", "read-x")
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.LoadPatients(ctx, []string{"prior", "survivor"}, store.Scope{}); err != nil {
			return err
		}
		return tx.MergePatients(ctx, "prior", "survivor", "merge-event")
	}); err != nil {
		t.Fatal(err)
	}
	record("survivor", "read-3")

	for _, asked := range []string{"prior", "survivor"} {
		var got []string
		var before int64
		for {
			page, err := s.AuditTrail(ctx, store.AuditQuery{PatientKey: asked, Before: before, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.Outcome)
			}
			if len(page) < 2 {
				break
			}
			before = page[len(page)-1].ID
		}
		if fmt.Sprint(got) != "[read-3 read-2 read-1]" {
			t.Errorf("trail of %s = %v, want both keys' entries newest first", asked, got)
		}
	}
}
