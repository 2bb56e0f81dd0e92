package adaptertest

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/carehub/carehub/pkg/careevent"
)

// Driver connects one adapter to the shared suite.
type Driver struct {
	// Adapter is the adapter's name in its quarantine entries.
	Adapter string
	// Start starts a fresh adapter publishing to a Bus of its own (see
	// NewBus) and returns how to send it one input, and the bus.
	Start func(t *testing.T) (Send, *Bus)
	// Good inputs are accepted as one event each. The data of a good
	// sample's event is kept in GoldenDir/<Name>.json.
	Good []Sample
	// Bad inputs are rejected with their WantError and quarantined.
	Bad []Sample
	// Refused is the error a good input gets while JetStream refuses its
	// event, e.g. "AR/207" or "503 transient": one that tells the sender to
	// send again.
	Refused string
	// Reused are inputs that reuse the source identity of an accepted
	// input for other content; each is rejected and quarantined.
	Reused []Reuse
	// MarksDuplicates is set when the answer to a resend says it is one
	// (FHIR, home care). HL7 v2 has no such answer: there a resend must be
	// answered exactly like the first send.
	MarksDuplicates bool
	// GoldenDir holds the golden files; testdata/golden by default.
	GoldenDir string
}

// Send hands the adapter one input and returns its answer.
type Send func(t *testing.T, input []byte) Answer

// Answer is an adapter's answer to one input, as its driver reads it.
type Answer struct {
	// Accepted is an HL7 AA or CA, or an HTTP 2xx with the input accepted.
	Accepted bool
	// Duplicate is an answer naming the input as already received.
	Duplicate bool
	// Error is the specific error of a rejection, e.g. "AE/101" (MSA-1 and
	// the ERR code) or "422 required" (status and the error's code).
	Error string
	// Raw is the whole answer, for failure messages.
	Raw []byte
}

// Reuse is an accepted input and a second one with the same source
// identity (HL7 MSH-10, home-care id, FHIR resource version) but other
// content.
type Reuse struct {
	Name           string
	First, Changed []byte
	// WantError is the Answer.Error of Changed.
	WantError string
}

// Sample is one input of a driver.
type Sample struct {
	Name  string
	Input []byte
	// WantError is the Answer.Error of a bad sample.
	WantError string
}

// Run runs the shared suite against the adapter of d, each property as a
// subtest on buses of its own.
func Run(t *testing.T, d Driver) {
	t.Helper()
	if d.Adapter == "" || d.Start == nil || len(d.Good) == 0 || len(d.Bad) == 0 || len(d.Reused) == 0 || d.Refused == "" {
		t.Fatal("a driver names its adapter, starts it, and has good, bad and reused-identity samples and the error of a refused publish")
	}
	if d.GoldenDir == "" {
		d.GoldenDir = filepath.Join("testdata", "golden")
	}
	t.Run("AcknowledgedOnceDurable", func(t *testing.T) { acknowledgedOnceDurable(t, d) })
	t.Run("RefusedWhenNotDurable", func(t *testing.T) { refusedWhenNotDurable(t, d) })
	t.Run("BadInputQuarantined", func(t *testing.T) { badInputQuarantined(t, d) })
	t.Run("ResendRecognised", func(t *testing.T) { resendRecognised(t, d) })
	t.Run("ReusedIdentityRejected", func(t *testing.T) { reusedIdentityRejected(t, d) })
	t.Run("DeterministicIDs", func(t *testing.T) { deterministicIDs(t, d) })
	t.Run("GoldenMappings", func(t *testing.T) { goldenMappings(t, d) })
}

// acceptOne sends a good sample to a fresh adapter and returns the bus,
// the answer and how to send that adapter more.
func acceptOne(t *testing.T, d Driver, s Sample) (*Bus, Answer, Send) {
	t.Helper()
	send, b := d.Start(t)
	ans := send(t, s.Input)
	if !ans.Accepted {
		t.Fatalf("good sample not accepted: %s %s", ans.Error, ans.Raw)
	}
	return b, ans, send
}

// onlyStored returns the one event CAREHUB_EVENTS holds.
func onlyStored(t *testing.T, b *Bus) event.Event {
	t.Helper()
	stored := b.Stored()
	if len(stored) != 1 {
		t.Fatalf("CAREHUB_EVENTS holds %d events, want 1", len(stored))
	}
	return stored[0]
}

func acknowledgedOnceDurable(t *testing.T, d Driver) {
	for _, s := range d.Good {
		t.Run(s.Name, func(t *testing.T) {
			b, _, _ := acceptOne(t, d, s)
			// The answer has arrived: the event must be in the stream now,
			// not eventually.
			e := onlyStored(t, b)
			if err := careevent.Validate(e); err != nil {
				t.Errorf("stored event does not validate: %v", err)
			}
			pubs := b.Events()
			if len(pubs) != 1 || pubs[0].Event.ID() != e.ID() {
				t.Errorf("acknowledged %d publishes, want the stored event's once", len(pubs))
			}
			if n := len(b.Quarantined()); n != 0 {
				t.Errorf("an accepted input left %d quarantine entries", n)
			}
		})
	}
}

func refusedWhenNotDurable(t *testing.T, d Driver) {
	send, b := d.Start(t)
	b.RefuseEvents()
	ans := send(t, d.Good[0].Input)
	if ans.Accepted || ans.Error != d.Refused {
		t.Errorf("answered accepted=%v error %q while JetStream refused the event, want %q: %s", ans.Accepted, ans.Error, d.Refused, ans.Raw)
	}
	if n := len(b.Quarantined()); n != 0 {
		t.Errorf("good input JetStream refused was quarantined %d times; the sender resends it", n)
	}
}

func badInputQuarantined(t *testing.T, d Driver) {
	for _, s := range d.Bad {
		t.Run(s.Name, func(t *testing.T) {
			send, b := d.Start(t)
			ans := send(t, s.Input)
			if ans.Accepted || ans.Error != s.WantError {
				t.Errorf("answered accepted=%v error %q, want %q: %s", ans.Accepted, ans.Error, s.WantError, ans.Raw)
			}
			if n := len(b.Stored()); n != 0 {
				t.Errorf("bad input stored %d events", n)
			}
			q := b.Quarantined()
			if len(q) != 1 {
				t.Fatalf("CAREHUB_QUARANTINE holds %d entries, want the input once", len(q))
			}
			if !bytes.Equal(q[0].Raw, s.Input) {
				t.Errorf("quarantined bytes differ from the input:\n got %.120q\nwant %.120q", q[0].Raw, s.Input)
			}
			if q[0].Adapter != d.Adapter || q[0].Reason == "" || q[0].ReceivedAt.IsZero() {
				t.Errorf("quarantine entry: adapter %q, reason %q, received %v", q[0].Adapter, q[0].Reason, q[0].ReceivedAt)
			}
		})
	}
}

func resendRecognised(t *testing.T, d Driver) {
	for _, s := range d.Good {
		t.Run(s.Name, func(t *testing.T) {
			b, first, send := acceptOne(t, d, s)
			again := send(t, s.Input)
			if !again.Accepted {
				t.Fatalf("resend not accepted: %s %s", again.Error, again.Raw)
			}
			switch {
			case d.MarksDuplicates && (first.Duplicate || !again.Duplicate):
				t.Errorf("duplicate named in the answers: first %v, resend %v; want only the resend:\n%s", first.Duplicate, again.Duplicate, again.Raw)
			case !d.MarksDuplicates && !bytes.Equal(first.Raw, again.Raw):
				t.Errorf("resend answered differently:\n%s\nthen\n%s", first.Raw, again.Raw)
			}
			onlyStored(t, b)
		})
	}
}

// reusedIdentityRejected: an identity reused for other content is not a
// resend to answer as accepted and drop, but a sender's error.
func reusedIdentityRejected(t *testing.T, d Driver) {
	for _, r := range d.Reused {
		t.Run(r.Name, func(t *testing.T) {
			b, _, send := acceptOne(t, d, Sample{Name: r.Name, Input: r.First})
			ans := send(t, r.Changed)
			if ans.Accepted || ans.Error != r.WantError {
				t.Errorf("answered accepted=%v error %q, want %q: %s", ans.Accepted, ans.Error, r.WantError, ans.Raw)
			}
			onlyStored(t, b)
			q := b.Quarantined()
			if len(q) != 1 || !bytes.Equal(q[0].Raw, r.Changed) {
				t.Errorf("CAREHUB_QUARANTINE holds %d entries, want the changed input once", len(q))
			}
		})
	}
}

func deterministicIDs(t *testing.T, d Driver) {
	bySample := map[string]string{}
	for _, s := range d.Good {
		var ids [2]string
		for i := range ids {
			b, _, _ := acceptOne(t, d, s)
			ids[i] = onlyStored(t, b).ID()
		}
		if ids[0] != ids[1] {
			t.Errorf("%s: event ids %s and %s from two adapters; the same input must make the same id", s.Name, ids[0], ids[1])
		}
		if other, ok := bySample[ids[0]]; ok {
			t.Errorf("%s and %s share event id %s", s.Name, other, ids[0])
		}
		bySample[ids[0]] = s.Name
	}
}

func goldenMappings(t *testing.T, d Driver) {
	for _, s := range d.Good {
		t.Run(s.Name, func(t *testing.T) {
			b, _, _ := acceptOne(t, d, s)
			Golden(t, filepath.Join(d.GoldenDir, s.Name+".json"), onlyStored(t, b).Data())
		})
	}
}
