package test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
)

// adt builds a Ryhov ADT message for one of two synthetic people: the
// prior record (19121212-1212) that a later A40 merges into the survivor
// (19450213-4317).
func adt(controlID, trigger, person, visit, evn, pv1Tail string) []byte {
	pid := map[string]string{
		"prior":    "PID|1||191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN||Testsson^Tolvan||19121212|M|||Storgatan 1^^Jönköping^^55321^SE^H^^0680",
		"survivor": "PID|1||194502134317^^^&1.2.752.129.2.1.3.1&ISO^PN||Öberg^Åsa||19450213|F|||Storgatan 12^^Jönköping^^55321^SE^H^^0680",
	}[person]
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|COSMIC|RYHOV|CAREHUB|CAREHUB|%s||ADT^%s|%s|P|2.5|||||SE|UNICODE UTF-8", evn, trigger, controlID),
		"EVN|" + trigger + "|" + evn,
		pid,
	}
	if trigger == "A40" {
		segs = append(segs, "MRG|191212121212^^^&1.2.752.129.2.1.3.1&ISO^PN")
	} else {
		segs = append(segs, "PV1|1|I|MED3^12^1^RYHOV||||||||||||||||"+visit+pv1Tail)
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

// TestMergeJoinsTimelines: two records of one person — a stay discharged
// under the prior personnummer, a new admission under the survivor's — show
// a readmission only once an A40 merges them. Whatever order the merge
// arrives in, the result is the same, and nothing is sent twice.
func TestMergeJoinsTimelines(t *testing.T) {
	admitPrior := adt("M-1", "A01", "prior", "VT-M-1", "20261101080000", "|||||||||||||||||||||||||20261101080000")
	dischargePrior := adt("M-2", "A03", "prior", "VT-M-1", "20261105100000", "|||||||||||||||||01|||||||||20261101080000|20261105100000")
	admitSurvivor := adt("M-3", "A01", "survivor", "VT-M-2", "20261112080000", "|||||||||||||||||||||||||20261112080000")
	merge := adt("M-4", "A40", "survivor", "", "20261113090000", "")

	orders := map[string][][]byte{
		"merge last":    {admitPrior, dischargePrior, admitSurvivor, merge},
		"merge first":   {merge, admitPrior, dischargePrior, admitSurvivor},
		"merge between": {admitPrior, merge, dischargePrior, admitSurvivor},
	}
	var results []string
	for _, name := range []string{"merge last", "merge first", "merge between"} {
		t.Run(name, func(t *testing.T) {
			cfg := hubConfig(t)
			cfg.MLLP.Addr = "127.0.0.1:0"
			h := startHub(t, cfg)
			for i, msg := range orders[name] {
				if sum := sendHL7(t, h.MLLPAddr(), msg); sum.Code != hl7v2.AckAccept {
					t.Fatalf("message %d: %s %s %s", i, sum.Code, sum.ErrorCode, sum.Text)
				}
			}
			waitSettled(t, h)
			var got []string
			ids := map[string]int{}
			for _, m := range streamMessages(t, h, careevent.StreamNotify, careevent.SubjectNotifyAll) {
				ids[m.Headers().Get("Nats-Msg-Id")]++
				got = append(got, strings.TrimPrefix(m.Subject(), "carehub.notify."))
			}
			slices.Sort(got)
			for id, n := range ids {
				if n > 1 {
					t.Errorf("notification %s published %d times", id, n)
				}
			}
			if !slices.Contains(got, "jonkoping-kommun.readmission") || !slices.Contains(got, "rjl-ryhov.readmission") {
				t.Errorf("no readmission after the merge: %v", got)
			}
			results = append(results, strings.Join(got, " "))
		})
	}
	for i := 1; i < len(results); i++ {
		if results[i] != results[0] {
			t.Errorf("the merge's arrival order changed the outcome:\n%s\n%s", results[0], results[i])
		}
	}
}

// TestEventDuringAnotherInstancesMerge: another hub instance merges the
// prior record into the survivor and, while its transaction is open, an
// event for the prior record reaches this hub's router. The router waits
// for the patient's lock; once the merge commits, the event must be applied
// to the survivor, at once (the retry delay is an hour here), and nothing
// may be left under the prior key.
func TestEventDuringAnotherInstancesMerge(t *testing.T) {
	cfg := hubConfig(t)
	cfg.MLLP.Addr = "127.0.0.1:0"
	cfg.Router.RetryDelay = time.Hour
	h := startHub(t, cfg)
	ctx := t.Context()
	pool := h.Store().Pool()

	for _, msg := range [][]byte{
		adt("R-1", "A01", "prior", "VT-R-1", "20261101080000", "|||||||||||||||||||||||||20261101080000"),
		adt("R-2", "A01", "survivor", "VT-R-2", "20261102080000", "|||||||||||||||||||||||||20261102080000"),
	} {
		if sum := sendHL7(t, h.MLLPAddr(), msg); sum.Code != hl7v2.AckAccept {
			t.Fatalf("%s %s %s", sum.Code, sum.ErrorCode, sum.Text)
		}
	}
	waitSettled(t, h)
	keyOf := func(visit string) string {
		var key string
		if err := pool.QueryRow(ctx, `SELECT patient_key FROM encounters WHERE encounter_id = $1`, visit).Scan(&key); err != nil {
			t.Fatalf("patient of %s: %v", visit, err)
		}
		return key
	}
	prior, survivor := keyOf("VT-R-1"), keyOf("VT-R-2")

	commit := testsupport.HoldMerge(t, ctx, h.Store(), prior, survivor)
	discharge := adt("R-3", "A03", "prior", "VT-R-1", "20261105100000", "|||||||||||||||||01|||||||||20261101080000|20261105100000")
	if sum := sendHL7(t, h.MLLPAddr(), discharge); sum.Code != hl7v2.AckAccept {
		t.Fatalf("discharge: %s %s %s", sum.Code, sum.ErrorCode, sum.Text)
	}
	testsupport.WaitForLockWaiter(t, ctx, h.Store())
	if err := commit(); err != nil {
		t.Fatalf("merge: %v", err)
	}
	waitSettled(t, h)

	var underPrior int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM patient_facts WHERE patient_key = $1)
		+ (SELECT count(*) FROM encounters WHERE patient_key = $1) + (SELECT count(*) FROM patients WHERE patient_key = $1)`, prior).Scan(&underPrior); err != nil {
		t.Fatal(err)
	}
	if underPrior != 0 {
		t.Errorf("%d facts, encounters or patient rows written under the merged-away key", underPrior)
	}
	var status string
	if err := pool.QueryRow(ctx, `SELECT status FROM encounters WHERE encounter_id = 'VT-R-1' AND patient_key = $1`, survivor).Scan(&status); err != nil {
		t.Fatalf("the prior record's stay under the survivor: %v", err)
	}
	if status != "finished" {
		t.Errorf("the prior record's stay is %q under the survivor, want finished (the discharge applied)", status)
	}
}
