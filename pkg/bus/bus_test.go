package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/bus"
	"github.com/carehub/carehub/pkg/careevent"
)

const testPatientKey = "0123456789abcdef0123456789abcdef"

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect connects to srv; the bus closes before the server stops.
func connect(t *testing.T, srv *bus.Embedded, cfg bus.Config) *bus.Bus {
	t.Helper()
	cfg.URL = srv.ClientURL()
	b, err := bus.Connect(testContext(t), cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("Connect(%s): %v", cfg.URL, err)
	}
	t.Cleanup(b.Close)
	return b
}

// newBus starts a server, connects and creates the streams.
func newBus(t *testing.T) *bus.Bus {
	t.Helper()
	b := connect(t, testsupport.NATS(t), bus.Config{})
	if err := b.EnsureStreams(testContext(t)); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	return b
}

func newEvent(t *testing.T, id string) event.Event {
	t.Helper()
	e, err := careevent.New(careevent.Fact{
		ID:           careevent.ID(id),
		Type:         careevent.EncounterAdmitted,
		Source:       "/test",
		Subject:      "Encounter/1",
		PatientKey:   testPatientKey,
		Organisation: "rjl-ryhov",
		Data:         []byte(`{"resourceType":"Bundle","type":"collection","entry":[]}`),
	})
	if err != nil {
		t.Fatalf("event.New: %v", err)
	}
	return e
}

func stream(t *testing.T, b *bus.Bus, name string) jetstream.Stream {
	t.Helper()
	s, err := b.JetStream().Stream(testContext(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s
}

// storedEvents is how many messages CAREHUB_EVENTS holds.
func storedEvents(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	return streamInfo(t, b, careevent.StreamEvents).State.Msgs
}

func streamInfo(t *testing.T, b *bus.Bus, name string) *jetstream.StreamInfo {
	t.Helper()
	info, err := stream(t, b, name).Info(testContext(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info
}

func streamNames(t *testing.T, b *bus.Bus) []string {
	t.Helper()
	lister := b.JetStream().StreamNames(testContext(t))
	var names []string
	for n := range lister.Name() {
		names = append(names, n)
	}
	if err := lister.Err(); err != nil {
		t.Fatalf("listing streams: %v", err)
	}
	slices.Sort(names)
	return names
}

var wantStreams = []struct {
	name    string
	subject string
}{
	{careevent.StreamEvents, careevent.SubjectEventsAll},
	{careevent.StreamNotify, careevent.SubjectNotifyAll},
	{careevent.StreamQuarantine, careevent.SubjectQuarantineAll},
}

func TestEnsureStreamsCreatesStreams(t *testing.T) {
	t.Parallel()
	b := newBus(t)

	if got, want := streamNames(t, b), []string{"CAREHUB_EVENTS", "CAREHUB_NOTIFY", "CAREHUB_QUARANTINE"}; !slices.Equal(got, want) {
		t.Fatalf("streams = %v, want %v", got, want)
	}
	for _, ws := range wantStreams {
		t.Run(ws.name, func(t *testing.T) {
			cfg := streamInfo(t, b, ws.name).Config
			if cfg.Storage != jetstream.FileStorage {
				t.Errorf("storage = %v, want file", cfg.Storage)
			}
			if !slices.Equal(cfg.Subjects, []string{ws.subject}) {
				t.Errorf("subjects = %v, want [%s]", cfg.Subjects, ws.subject)
			}
			if cfg.Replicas != 1 {
				t.Errorf("replicas = %d, want 1", cfg.Replicas)
			}
			if cfg.Duplicates != 2*time.Hour {
				t.Errorf("duplicate window = %s, want the default 2h", cfg.Duplicates)
			}
			if cfg.Retention != jetstream.LimitsPolicy || cfg.Discard != jetstream.DiscardOld {
				t.Errorf("retention/discard = %v/%v, want limits/old", cfg.Retention, cfg.Discard)
			}
		})
	}

	// The subjects really route to the streams.
	ctx := testContext(t)
	for _, tc := range []struct{ subject, stream string }{
		{careevent.FactSubject(careevent.EncounterDischarged, testPatientKey), careevent.StreamEvents},
		{"carehub.notify.jonkoping-kommun.discharged", careevent.StreamNotify},
		{careevent.QuarantineSubject("fhir"), careevent.StreamQuarantine},
	} {
		msg := nats.NewMsg(tc.subject)
		msg.Header.Set(nats.MsgIdHdr, "route-"+tc.subject)
		msg.Data = []byte("x")
		ack, err := b.Publish(ctx, msg)
		if err != nil {
			t.Fatalf("Publish to %s: %v", tc.subject, err)
		}
		if ack.Stream != tc.stream {
			t.Errorf("%s stored in %s, want %s", tc.subject, ack.Stream, tc.stream)
		}
	}
}

func TestEnsureStreamsIsIdempotent(t *testing.T) {
	t.Parallel()
	srv := testsupport.NATS(t)
	b := connect(t, srv, bus.Config{})
	ctx := testContext(t)
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatalf("first EnsureStreams: %v", err)
	}
	if _, err := b.PublishEvent(ctx, newEvent(t, "kept"), careevent.FactSubject(careevent.EncounterAdmitted, testPatientKey)); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	if got := streamNames(t, b); len(got) != 3 {
		t.Fatalf("streams after second EnsureStreams = %v, want 3", got)
	}
	if n := storedEvents(t, b); n != 1 {
		t.Fatalf("CAREHUB_EVENTS holds %d messages after second EnsureStreams, want 1 (kept)", n)
	}

	// Another instance with a different duplicate window updates the streams.
	b2 := connect(t, srv, bus.Config{DuplicateWindow: 10 * time.Minute})
	if err := b2.EnsureStreams(ctx); err != nil {
		t.Fatalf("EnsureStreams with another duplicate window: %v", err)
	}
	for _, ws := range wantStreams {
		if d := streamInfo(t, b, ws.name).Config.Duplicates; d != 10*time.Minute {
			t.Errorf("%s duplicate window = %s after update, want 10m", ws.name, d)
		}
	}
	if n := storedEvents(t, b); n != 1 {
		t.Fatalf("CAREHUB_EVENTS holds %d messages after update, want 1", n)
	}
}

func TestPublishRequiresMsgID(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ctx := testContext(t)
	subject := careevent.FactSubject(careevent.EncounterAdmitted, testPatientKey)

	withEmptyID := nats.NewMsg(subject)
	withEmptyID.Header.Set(nats.MsgIdHdr, "")
	withOtherHeaders := nats.NewMsg(subject)
	withOtherHeaders.Header.Set("ce-id", "abc")
	cases := []struct {
		name string
		msg  *nats.Msg
	}{
		{"nil header", &nats.Msg{Subject: subject, Data: []byte("{}")}},
		{"empty header", nats.NewMsg(subject)},
		{"empty id", withEmptyID},
		{"other headers only", withOtherHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ack, err := b.Publish(ctx, tc.msg)
			if err == nil {
				t.Fatalf("Publish without Nats-Msg-Id succeeded: %+v", ack)
			}
			if ack != nil {
				t.Errorf("Publish returned ack %+v with error", ack)
			}
		})
	}
	if n := storedEvents(t, b); n != 0 {
		t.Fatalf("CAREHUB_EVENTS holds %d messages after refused publishes, want 0", n)
	}

	ok := nats.NewMsg(subject)
	ok.Header.Set(nats.MsgIdHdr, "with-id")
	ok.Data = []byte("{}")
	ack, err := b.Publish(ctx, ok)
	if err != nil {
		t.Fatalf("Publish with Nats-Msg-Id: %v", err)
	}
	if ack.Stream != careevent.StreamEvents || ack.Sequence != 1 || ack.Duplicate {
		t.Fatalf("ack = %+v, want CAREHUB_EVENTS seq 1, not duplicate", ack)
	}
}

func TestPublishEventDeduplicates(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ctx := testContext(t)
	e := newEvent(t, "x")
	subject := careevent.FactSubject(careevent.EncounterAdmitted, testPatientKey)

	first, err := b.PublishEvent(ctx, e, subject)
	if err != nil {
		t.Fatalf("first PublishEvent: %v", err)
	}
	if first.Duplicate {
		t.Fatalf("first PublishEvent ack.Duplicate = true")
	}
	if first.Stream != careevent.StreamEvents {
		t.Fatalf("first PublishEvent stored in %s, want %s", first.Stream, careevent.StreamEvents)
	}
	second, err := b.PublishEvent(ctx, e, subject)
	if err != nil {
		t.Fatalf("second PublishEvent: %v", err)
	}
	if !second.Duplicate {
		t.Fatalf("second PublishEvent of the same event: ack.Duplicate = false (ack %+v)", second)
	}
	if second.Sequence != first.Sequence {
		t.Errorf("duplicate ack sequence = %d, want the original's %d", second.Sequence, first.Sequence)
	}
	if n := storedEvents(t, b); n != 1 {
		t.Fatalf("CAREHUB_EVENTS holds %d messages, want 1", n)
	}

	// The stored message is the binary-mode encoding of e.
	raw, err := stream(t, b, careevent.StreamEvents).GetMsg(ctx, first.Sequence)
	if err != nil {
		t.Fatalf("GetMsg: %v", err)
	}
	if raw.Subject != subject {
		t.Errorf("stored subject = %s, want %s", raw.Subject, subject)
	}
	if got := raw.Header.Get(nats.MsgIdHdr); got != e.ID() {
		t.Errorf("Nats-Msg-Id = %q, want the event id %q", got, e.ID())
	}
	decoded, err := careevent.FromNATS(raw.Header, raw.Data)
	if err != nil {
		t.Fatalf("FromNATS of the stored message: %v", err)
	}
	if decoded.ID() != e.ID() || decoded.Type() != e.Type() || careevent.PatientKey(decoded) != testPatientKey ||
		careevent.Organisation(decoded) != "rjl-ryhov" || !bytes.Equal(decoded.Data(), e.Data()) {
		t.Errorf("stored event = %v, want %v", decoded, e)
	}

	// A different event is not a duplicate.
	other, err := b.PublishEvent(ctx, newEvent(t, "y"), subject)
	if err != nil {
		t.Fatal(err)
	}
	if other.Duplicate || other.Sequence != first.Sequence+1 {
		t.Fatalf("other event ack = %+v, want new sequence %d", other, first.Sequence+1)
	}
}

// TestPublishEventComparesDuplicates: a resend with the same source
// digest is a harmless duplicate; the same id with another digest is
// ErrContentConflict, and the stream keeps only the original.
func TestPublishEventComparesDuplicates(t *testing.T) {
	b := newBus(t)
	ctx := testContext(t)
	withDigest := func(id, digest string) event.Event {
		e := newEvent(t, id)
		if digest != "" {
			e.SetExtension(careevent.ExtSourceDigest, digest)
		}
		return e
	}
	subject := careevent.FactSubject(careevent.EncounterAdmitted, testPatientKey)
	tests := []struct {
		name          string
		id            string
		first, again  string
		wantConflict  bool
		wantDuplicate bool
	}{
		{name: "exact resend", id: "same", first: "d1", again: "d1", wantDuplicate: true},
		{name: "id reused for other content", id: "other", first: "d1", again: "d2", wantConflict: true},
		{name: "original without a digest", id: "legacy", first: "", again: "d2", wantDuplicate: true},
		{name: "resend without a digest", id: "nodigest", first: "d1", again: "", wantDuplicate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.PublishEvent(ctx, withDigest(tt.id, tt.first), subject); err != nil {
				t.Fatalf("first publish: %v", err)
			}
			ack, err := b.PublishEvent(ctx, withDigest(tt.id, tt.again), subject)
			if got := errors.Is(err, bus.ErrContentConflict); got != tt.wantConflict {
				t.Fatalf("second publish: err %v, want conflict %v", err, tt.wantConflict)
			}
			if !tt.wantConflict && (err != nil || ack.Duplicate != tt.wantDuplicate) {
				t.Fatalf("second publish: ack %+v, err %v", ack, err)
			}
		})
	}
	if n := storedEvents(t, b); n != uint64(len(tests)) {
		t.Errorf("CAREHUB_EVENTS holds %d messages, want %d (one per id)", n, len(tests))
	}
}

func TestPublishEventRefusesInvalidEvent(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ctx := testContext(t)
	e := newEvent(t, "x")
	e.SetExtension(careevent.ExtPatientKey, nil) // removes it
	if _, err := b.PublishEvent(ctx, e, careevent.FactSubject(careevent.EncounterAdmitted, testPatientKey)); !errors.Is(err, careevent.ErrInvalid) {
		t.Fatalf("PublishEvent without patient key: err = %v, want event.ErrInvalid", err)
	}
	if n := storedEvents(t, b); n != 0 {
		t.Fatalf("CAREHUB_EVENTS holds %d messages, want 0", n)
	}
}

func TestQuarantine(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	ctx := testContext(t)
	received := time.Date(2025, 6, 1, 10, 11, 12, 13000000, time.FixedZone("CEST", 2*3600))

	cases := []struct {
		name        string
		entry       bus.QuarantineEntry
		wantSubject string
	}{
		{
			name: "hl7v2 with every field",
			entry: bus.QuarantineEntry{
				Adapter: "hl7v2", Organisation: "rjl-ryhov", ContentType: "x-application/hl7-v2+er7",
				Reason: "MSH-9 missing", ReceivedAt: received,
				// Not UTF-8, with CR separators and a NUL: must come back byte for byte.
				Raw: []byte("MSH|^~\\&|PAS|RYHOV\r\nPID|||\xff\xfe\x00|\r  trailing  "),
			},
			wantSubject: "carehub.quarantine.hl7v2",
		},
		{
			name: "fhir without organisation",
			entry: bus.QuarantineEntry{
				Adapter: "fhir", Reason: "not a Bundle",
				Raw: []byte(`{"resourceType": "Patient" ,  "id":"1"}`),
			},
			wantSubject: "carehub.quarantine.fhir",
		},
		{
			name: "adapter name is lower-cased in the subject",
			entry: bus.QuarantineEntry{
				Adapter: "Webhook", Organisation: "ljungby-kommun", Reason: "bad signature",
				Raw: []byte{},
			},
			wantSubject: "carehub.quarantine.webhook",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			if err := b.Quarantine(ctx, tc.entry); err != nil {
				t.Fatalf("Quarantine: %v", err)
			}
			msg, err := stream(t, b, careevent.StreamQuarantine).GetLastMsgForSubject(ctx, tc.wantSubject)
			if err != nil {
				t.Fatalf("no message on %s: %v", tc.wantSubject, err)
			}
			if !bytes.Equal(msg.Data, tc.entry.Raw) {
				t.Errorf("stored bytes = %q, want %q", msg.Data, tc.entry.Raw)
			}
			checks := []struct{ header, want string }{
				{bus.HeaderQuarantineReason, tc.entry.Reason},
				{bus.HeaderQuarantineAdapter, tc.entry.Adapter},
				{bus.HeaderQuarantineOrg, tc.entry.Organisation},
				{"Content-Type", tc.entry.ContentType},
			}
			for _, c := range checks {
				if got := msg.Header.Get(c.header); got != c.want {
					t.Errorf("header %s = %q, want %q", c.header, got, c.want)
				}
			}
			if tc.entry.Organisation == "" {
				if _, ok := msg.Header[bus.HeaderQuarantineOrg]; ok {
					t.Errorf("header %s present without organisation", bus.HeaderQuarantineOrg)
				}
			}
			if msg.Header.Get(nats.MsgIdHdr) == "" {
				t.Error("quarantined message has no Nats-Msg-Id")
			}
			at, err := time.Parse(time.RFC3339Nano, msg.Header.Get(bus.HeaderReceivedAt))
			if err != nil {
				t.Fatalf("header %s: %v", bus.HeaderReceivedAt, err)
			}
			if tc.entry.ReceivedAt.IsZero() {
				if at.Before(before) || at.After(time.Now().Add(time.Second)) {
					t.Errorf("received at = %s, want about now", at)
				}
			} else if !at.Equal(tc.entry.ReceivedAt) {
				t.Errorf("received at = %s, want %s", at, tc.entry.ReceivedAt)
			}
		})
	}
	if n := streamInfo(t, b, careevent.StreamQuarantine).State.Msgs; n != uint64(len(cases)) {
		t.Fatalf("CAREHUB_QUARANTINE holds %d messages, want %d", n, len(cases))
	}

	// The same input quarantined again (a retried request) is kept once.
	if err := b.Quarantine(ctx, cases[0].entry); err != nil {
		t.Fatalf("Quarantine again: %v", err)
	}
	if n := streamInfo(t, b, careevent.StreamQuarantine).State.Msgs; n != uint64(len(cases)) {
		t.Fatalf("CAREHUB_QUARANTINE holds %d messages after a repeat, want %d", n, len(cases))
	}
}

func TestQuarantineWithoutStreamFails(t *testing.T) {
	t.Parallel()
	// Connected, but EnsureStreams never ran: nothing stores the input, and
	// the caller must learn that.
	b := connect(t, testsupport.NATS(t), bus.Config{PublishTimeout: 2 * time.Second})
	err := b.Quarantine(testContext(t), bus.QuarantineEntry{Adapter: "fhir", Reason: "r", Raw: []byte("x")})
	if err == nil {
		t.Fatal("Quarantine without a quarantine stream succeeded")
	}
}

func TestStartEmbeddedAddressInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()

	start := time.Now()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: l.Addr().String(), StoreDir: t.TempDir()})
	elapsed := time.Since(start)
	if err == nil {
		e.Shutdown()
		t.Fatalf("StartEmbedded on %s, which is in use, succeeded", l.Addr())
	}
	if !errors.Is(err, bus.ErrAddressInUse) {
		t.Errorf("StartEmbedded error = %v, want it to wrap bus.ErrAddressInUse", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("StartEmbedded took %s to fail, want an immediate error", elapsed)
	}
}

func TestStartEmbeddedBadAddress(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"", "localhost", "127.0.0.1:notaport", "127.0.0.1:70000", "127.0.0.1:-1"} {
		t.Run(addr, func(t *testing.T) {
			e, err := bus.StartEmbedded(bus.EmbeddedConfig{Listen: addr, StoreDir: t.TempDir()})
			if err == nil {
				e.Shutdown()
				t.Fatalf("StartEmbedded(%q) succeeded", addr)
			}
			if errors.Is(err, bus.ErrAddressInUse) {
				t.Errorf("StartEmbedded(%q) = %v, must not claim the address is in use", addr, err)
			}
		})
	}
}

func TestStartEmbeddedServes(t *testing.T) {
	t.Parallel()
	srv := testsupport.NATS(t)
	host, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatalf("Addr() = %q: %v", srv.Addr(), err)
	}
	if host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr() = %q, want 127.0.0.1 and the picked port", srv.Addr())
	}
	b := connect(t, srv, bus.Config{})
	if err := b.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	start := time.Now()
	b, err := bus.Connect(ctx, bus.Config{URL: "nats://127.0.0.1:1", ConnectTimeout: 2 * time.Second}, zaptest.NewLogger(t))
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("Connect to a port where nothing listens succeeded")
	}
	if elapsed > 5*time.Second {
		t.Fatalf("Connect took %s to fail, want a few seconds at most", elapsed)
	}
}

func TestConnectRejectsBadConfig(t *testing.T) {
	t.Parallel()
	// A live server, so that only validation can make Connect fail.
	url := testsupport.NATS(t).ClientURL()
	cases := []struct {
		name string
		cfg  bus.Config
		ok   bool
	}{
		{"empty URL", bus.Config{}, false},
		{"too many replicas", bus.Config{URL: url, Replicas: 6}, false},
		{"negative replicas", bus.Config{URL: url, Replicas: -1}, false},
		{"defaults", bus.Config{URL: url}, true},
		{"five replicas is the maximum", bus.Config{URL: url, Replicas: 5}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bus.Connect(testContext(t), tc.cfg, zaptest.NewLogger(t))
			if err == nil {
				b.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("Connect(%+v) error = %v, want ok = %v", tc.cfg, err, tc.ok)
			}
		})
	}
}

// TestStreamsExpire: every stream has an age limit, and JetStream applies
// it — an entry older than the quarantine's retention is gone.
func TestStreamsExpire(t *testing.T) {
	t.Parallel()
	short := bus.Retention{Events: time.Second, Notify: time.Second, Quarantine: time.Second, QuarantineBytes: 1 << 20}
	b := connect(t, testsupport.NATS(t), bus.Config{DuplicateWindow: time.Second, Retention: short})
	ctx := testContext(t)
	if err := b.EnsureStreams(ctx); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	for _, name := range []string{careevent.StreamEvents, careevent.StreamNotify, careevent.StreamQuarantine} {
		if age := streamInfo(t, b, name).Config.MaxAge; age != time.Second {
			t.Errorf("%s MaxAge = %s, want 1s", name, age)
		}
	}
	if n := streamInfo(t, b, careevent.StreamQuarantine).Config.MaxBytes; n != 1<<20 {
		t.Errorf("quarantine MaxBytes = %d, want 1 MiB", n)
	}
	if err := b.Quarantine(ctx, bus.QuarantineEntry{Adapter: "test", Reason: "r", Raw: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	testsupport.WaitFor(t, 10*time.Second, func() error {
		if n := streamInfo(t, b, careevent.StreamQuarantine).State.Msgs; n != 0 {
			return fmt.Errorf("quarantine still holds %d entries past its age limit", n)
		}
		return nil
	})
}

func TestRetentionNotShorterThanDuplicateWindow(t *testing.T) {
	cfg := bus.Config{URL: "nats://127.0.0.1:1", DuplicateWindow: time.Hour, Retention: bus.Retention{Quarantine: time.Minute}}
	if _, err := bus.Connect(testContext(t), cfg, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "quarantine retention") {
		t.Fatalf("Connect = %v, want the quarantine retention refused", err)
	}
}
