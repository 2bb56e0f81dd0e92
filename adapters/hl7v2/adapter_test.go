package hl7v2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap/zaptest"

	"github.com/carehub/carehub/adapters/adaptertest"
	"github.com/carehub/carehub/adapters/hl7v2/hl7"
	"github.com/carehub/carehub/internal/testsupport"
	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/swefhir"
	"github.com/carehub/carehub/schemas"
)

var fixedNow = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

// newTestAdapter returns an adapter publishing to a real JetStream of the
// test's own.
func newTestAdapter(t testing.TB) (*Adapter, *adaptertest.Bus, *swefhir.PatientKeyer) {
	t.Helper()
	pub := adaptertest.NewBus(t)
	a, keys := newAdapter(t, pub)
	return a, pub, keys
}

// newAdapter returns an adapter publishing to pub, its clock fixed.
func newAdapter(t testing.TB, pub Publisher) (*Adapter, *swefhir.PatientKeyer) {
	t.Helper()
	dir, err := directory.Load("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := swefhir.NewPatientKeyer([]byte("hl7v2-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{}, pub, dir, keys, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return fixedNow }
	return a, keys
}

// ackOf parses one acknowledgement and returns MSA-1, MSA-2 and ERR-3.1
// (or ERR-1.4.1 before 2.5).
func ackOf(t *testing.T, ack []byte) (code, controlID, errCode string, m *hl7.Message) {
	t.Helper()
	m, err := hl7.Parse(ack)
	if err != nil {
		t.Fatalf("acknowledgement does not parse: %v\n%s", err, ack)
	}
	errCode = m.Get("ERR-3.1")
	if errCode == "" {
		errCode = m.Get("ERR-1.4.1")
	}
	return m.Get("MSA-1"), m.Get("MSA-2"), errCode, m
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	return testsupport.ReadFile(t, filepath.Join("testdata", name))
}

func TestSwedishMessages(t *testing.T) {
	tests := []struct {
		file      string
		ack       string
		errCode   string
		eventType careevent.Type
		errText   string
	}{
		{"a01-ryhov-utf8.hl7", AckAccept, "", careevent.EncounterAdmitted, ""},
		{"a03-ryhov-utf8.hl7", AckAccept, "", careevent.EncounterDischarged, ""},
		{"a03-ljungby-latin1.hl7", AckAccept, "", careevent.EncounterDischarged, ""},
		{"a16-utskrivningsklar.hl7", AckAccept, "", careevent.EncounterDischargeReady, ""},
		{"a13-cancel-discharge.hl7", AckAccept, "", careevent.EncounterCancelled, ""},
		{"a40-merge.hl7", AckAccept, "", careevent.PatientMerged, ""},
		{"a01-bad-check-digit.hl7", AckError, ErrDataType, "", "check digit"},
		{"a01-unknown-facility.hl7", AckError, ErrTableValue, "", "not in the carehub directory"},
		{"a01-no-pid3.hl7", AckError, ErrRequiredMissing, "", "PID-3"},
		{"a01-bad-date.hl7", AckError, ErrDataType, "", "calendar"},
		{"orm-unsupported.hl7", AckReject, ErrUnsupportedType, "", "ADT"},
		{"a01-version-21.hl7", AckReject, ErrUnsupportedVersion, "", "2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, pub, _ := newTestAdapter(t)
			raw := readTestdata(t, tt.file)
			acks := a.Handle(context.Background(), raw, false, "test")
			if len(acks) != 1 {
				t.Fatalf("%d acknowledgements, want 1", len(acks))
			}
			code, ctl, errCode, ackMsg := ackOf(t, acks[0])
			in, _ := hl7.Parse(raw)
			if code != tt.ack || errCode != tt.errCode {
				t.Fatalf("ACK %s/%s, want %s/%s:\n%s", code, errCode, tt.ack, tt.errCode, acks[0])
			}
			if in != nil && ctl != in.ControlID() {
				t.Errorf("MSA-2 %q does not echo MSH-10 %q", ctl, in.ControlID())
			}
			if tt.errText != "" && !strings.Contains(string(acks[0]), tt.errText) {
				t.Errorf("ACK does not explain %q:\n%s", tt.errText, acks[0])
			}
			if strings.Contains(string(acks[0]), "1945021343") || strings.Contains(string(acks[0]), "Öberg") {
				t.Errorf("ACK repeats personal data:\n%s", acks[0])
			}
			if in != nil {
				// Sender and receiver swapped; version and charset echoed.
				if ackMsg.Get("MSH-5") != in.Get("MSH-3") || ackMsg.Get("MSH-6") != in.Get("MSH-4") ||
					ackMsg.Version() != in.Version() || ackMsg.Charset != in.Charset {
					t.Errorf("ACK header does not answer the sender:\n%s", acks[0])
				}
			}
			if tt.eventType == "" {
				if len(pub.Stored()) != 0 || len(pub.Quarantined()) != 1 || !bytes.Equal(pub.Quarantined()[0].Raw, raw) {
					t.Fatalf("rejected message: %d events, %d quarantined (raw kept: %v)", len(pub.Stored()), len(pub.Quarantined()),
						len(pub.Quarantined()) == 1 && bytes.Equal(pub.Quarantined()[0].Raw, raw))
				}
				if strings.Contains(pub.Quarantined()[0].Reason, "1945021343") {
					t.Error("quarantine reason holds a personnummer")
				}
				return
			}
			if len(pub.Stored()) != 1 || len(pub.Quarantined()) != 0 {
				t.Fatalf("%d events, %d quarantined; want 1 and 0", len(pub.Stored()), len(pub.Quarantined()))
			}
			e := pub.Stored()[0]
			if careevent.Type(e.Type()) != tt.eventType {
				t.Errorf("event type %s, want %s", e.Type(), tt.eventType)
			}
			validateData(t, e)
		})
	}
}

// compiledSchemas compiles the schemas once for all tests of the package.
var compiledSchemas = sync.OnceValues(schemas.NewValidator)

func validateData(t *testing.T, e event.Event) {
	t.Helper()
	v, err := compiledSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(e.Type(), e.Data()); err != nil {
		t.Errorf("event data breaks its schema: %v", err)
	}
}

func TestLatin1NamesAndMunicipalitySurvive(t *testing.T) {
	a, pub, keys := newTestAdapter(t)
	raw := readTestdata(t, "a03-ljungby-latin1.hl7")
	if !bytes.Contains(raw, []byte{0xC5}) { // Å in ISO-8859-1
		t.Fatal("fixture is not ISO-8859-1")
	}
	a.Handle(context.Background(), raw, false, "test")
	if len(pub.Stored()) != 1 {
		t.Fatalf("%d events", len(pub.Stored()))
	}
	e := pub.Stored()[0]
	data := string(e.Data())
	for _, want := range []string{`"family":"Ångström"`, `"Örjan"`, `"city":"Ljungby"`, `"district":"0781"`, `"Bäckgatan 3"`} {
		if !strings.Contains(data, want) {
			t.Errorf("event data lacks %s", want)
		}
	}
	if got, want := careevent.PatientKey(e), keys.Key(swefhir.SystemPersonnummer, "191212121212"); got != want {
		t.Errorf("patient key %s, want the key of the personnummer (%s)", got, want)
	}
	if careevent.Organisation(e) != "rkl-ljungby" || e.Source() != "/adapters/hl7v2/LJUNGBY" || e.Subject() != "Encounter/LJ-77001" {
		t.Errorf("event org %s source %s subject %s", careevent.Organisation(e), e.Source(), e.Subject())
	}
	if !strings.Contains(data, `"end":"2026-11-24T09:00:00+01:00"`) {
		t.Errorf("discharge time not mapped from PV1-45 in Stockholm time: %s", data)
	}
}

func TestResentMessageIsOneEvent(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	raw := readTestdata(t, "a03-ryhov-utf8.hl7")
	first := a.Handle(context.Background(), raw, false, "test")
	second := a.Handle(context.Background(), raw, false, "test")
	if len(pub.Stored()) != 1 {
		t.Fatalf("%d events after a resend, want 1", len(pub.Stored()))
	}
	c1, _, _, _ := ackOf(t, first[0])
	c2, _, _, _ := ackOf(t, second[0])
	if c1 != AckAccept || c2 != AckAccept || !bytes.Equal(first[0], second[0]) {
		t.Errorf("resend answered %s then %s; want the same AA twice", c1, c2)
	}
}

func TestEnhancedModeSendsAcceptThenApplicationAck(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	acks := a.Handle(context.Background(), readTestdata(t, "a01-enhanced.hl7"), false, "test")
	if len(acks) != 2 {
		t.Fatalf("%d acknowledgements, want accept + application", len(acks))
	}
	if c, _, _, _ := ackOf(t, acks[0]); c != AckCommit {
		t.Errorf("first ACK %s, want CA", c)
	}
	if c, _, _, _ := ackOf(t, acks[1]); c != AckAccept {
		t.Errorf("second ACK %s, want AA", c)
	}
	if len(pub.Stored()) != 1 {
		t.Errorf("%d events", len(pub.Stored()))
	}
}

func TestNothingAcceptedWhenNotDurable(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	pub.PublishErr = errors.New("jetstream unavailable")
	acks := a.Handle(context.Background(), readTestdata(t, "a03-ryhov-utf8.hl7"), false, "test")
	if c, _, code, _ := ackOf(t, acks[0]); c != AckReject || code != ErrApplicationError {
		t.Errorf("ACK %s/%s while JetStream is down, want AR/207 so the sender resends", c, code)
	}
}

func TestTooLargeFrameIsRejectedAndQuarantined(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	prefix := readTestdata(t, "a03-ryhov-utf8.hl7")[:200]
	acks := a.Handle(context.Background(), prefix, true, "test")
	c, ctl, _, _ := ackOf(t, acks[0])
	if c != AckReject || ctl != "RYH-0002" {
		t.Errorf("ACK %s for %q, want AR addressed to RYH-0002", c, ctl)
	}
	if len(pub.Quarantined()) != 1 || !bytes.Equal(pub.Quarantined()[0].Raw, prefix) {
		t.Error("the cut frame was not quarantined")
	}
}

func TestGarbageGetsAnAR(t *testing.T) {
	a, pub, _ := newTestAdapter(t)
	for _, raw := range [][]byte{[]byte("hello"), []byte("MSH|"), {0xff, 0xfe, 0x00}, []byte("PID|1||x")} {
		acks := a.Handle(context.Background(), raw, false, "test")
		if len(acks) != 1 {
			t.Fatalf("%q: %d acks", raw, len(acks))
		}
		if c, _, code, _ := ackOf(t, acks[0]); c != AckReject || code == "" {
			t.Errorf("%q answered %s/%s, want AR with an error code", raw, c, code)
		}
	}
	if len(pub.Quarantined()) != 4 {
		t.Errorf("%d quarantined, want 4", len(pub.Quarantined()))
	}
}

// TestConformanceSamples runs every third-party sample: each is accepted
// and mapped, or answered AR/AE with a specific error code. Golden FHIR
// output is kept for one sample of A01, A02, A03, A08, A11, A13 and A40.
func TestConformanceSamples(t *testing.T) {
	conformanceDir := testsupport.ConformanceDir(t, "hl7v2/fhir-converter")
	want := map[string]string{ // file → MSA-1[/error code]; "" = no acknowledgement requested (MSH-15/16 NE)
		"ADT-A01-01": "AA", "ADT-A01-02": "AA", "ADT-A02-01": "AA", "ADT-A02-02": "AA", "ADT-A03-01": "AA", "ADT-A03-02": "AA",
		"ADT-A04-01": "AA", "ADT-A04-02": "AA", "ADT-A05-01": "AA", "ADT-A05-02": "AA", "ADT-A06-01": "AA", "ADT-A06-02": "AA",
		"ADT-A07-01": "AA", "ADT-A07-02": "AA", "ADT-A08-01": "AA", "ADT-A08-02": "AA",
		"ADT-A09-01": "AR/201", "ADT-A09-02": "AR/201", "ADT-A10-01": "AR/201", "ADT-A10-02": "AR/201",
		"ADT-A11-01": "AA", "ADT-A11-02": "AA", "ADT-A13-01": "AA", "ADT-A13-02": "AA", "ADT-A14-01": "AA", "ADT-A14-02": "AA",
		"ADT-A15-01": "AR/201", "ADT-A15-02": "AR/201", "ADT-A16-01": "AA", "ADT-A16-02": "AA",
		"ADT-A25-01": "AR/201", "ADT-A25-02": "AR/201", "ADT-A26-01": "AR/201", "ADT-A26-02": "AR/201",
		"ADT-A27-01": "AR/201", "ADT-A27-02": "AR/201", "ADT-A28-01": "AR/201", "ADT-A28-02": "AR/201",
		"ADT-A29-01": "AR/201", "ADT-A29-02": "AR/201", "ADT-A31-01": "AA", "ADT-A31-02": "AA",
		"ADT-A40-01": "", "ADT-A40-02": "", "ADT-A41-01": "AR/201", "ADT-A41-02": "AR/201",
		"ADT-A45-01": "AR/201", "ADT-A45-02": "AR/201", "ADT-A47-01": "AR/201", "ADT-A47-02": "AR/201",
		"ADT-A60-01": "AR/201", "ADT-A60-02": "AR/201",
		"ADT01-23": "CA", "ADT01-28": "AE/101", "ADT04-23": "AA", "ADT04-251": "AE/101", "ADT04-28": "AA",
	}
	golden := map[string]bool{"ADT-A01-01": true, "ADT-A02-01": true, "ADT-A03-01": true, "ADT-A08-01": true,
		"ADT-A11-01": true, "ADT-A13-01": true, "ADT-A40-01": true}
	files, err := filepath.Glob(filepath.Join(conformanceDir, "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", conformanceDir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		t.Run(name, func(t *testing.T) {
			expected, known := want[name]
			if !known {
				t.Fatalf("new sample %s: add its expected acknowledgement to the table", name)
			}
			a, pub, _ := newTestAdapter(t)
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			acks := a.Handle(context.Background(), raw, false, "test")
			got := ""
			if len(acks) > 0 {
				code, _, errCode, _ := ackOf(t, acks[0])
				got = code
				if errCode != "" {
					got += "/" + errCode
				}
			}
			if got != expected {
				t.Fatalf("acknowledged %q, want %q", got, expected)
			}
			accepted := expected == "AA" || expected == "CA" || expected == ""
			if accepted != (len(pub.Stored()) == 1) {
				t.Fatalf("%d events for %s", len(pub.Stored()), expected)
			}
			if !accepted {
				if len(pub.Quarantined()) != 1 {
					t.Fatalf("rejected sample not quarantined")
				}
				return
			}
			validateData(t, pub.Stored()[0])
			if golden[name] {
				adaptertest.Golden(t, filepath.Join("testdata", "golden", name+".json"), pub.Stored()[0].Data())
			}
		})
	}
}

func readTestdataB(b *testing.B, name string) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func TestEventTimeIsTheSendersTime(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	raw := string(readTestdata(t, "a03-ryhov-utf8.hl7"))
	msh7 := strings.Split(strings.SplitN(raw, "\r", 2)[0], "|")[6]
	tests := []struct {
		name       string
		msh7, evn2 string
		want       time.Time
	}{
		{"EVN-2 wins", "202611201000", "202611200930", time.Date(2026, 11, 20, 9, 30, 0, 0, stockholm)},
		{"MSH-7 without EVN-2", "202611201000", "", time.Date(2026, 11, 20, 10, 0, 0, 0, stockholm)},
		{"offset honoured", "20261120100000+0000", "", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{"sender clock ahead: arrival time", "202612011000", "", fixedNow},
		{"date only is too coarse: arrival time", "20261120", "", fixedNow},
		{"garbage: arrival time", "yesterday", "", fixedNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, pub, _ := newTestAdapter(t)
			msg := strings.Replace(raw, "|"+msh7+"|", "|"+tt.msh7+"|", 1)
			msg = setEVN2(t, msg, tt.evn2)
			acks := a.Handle(context.Background(), []byte(msg), false, "test")
			if code, _, errCode, _ := ackOf(t, acks[0]); code != AckAccept {
				t.Fatalf("ACK %s %s", code, errCode)
			}
			if got := pub.Stored()[0].Time(); !got.Equal(tt.want) {
				t.Errorf("event time %v, want %v", got, tt.want)
			}
		})
	}
}

// setEVN2 replaces EVN-2 in msg, adding an EVN segment after MSH if needed.
func setEVN2(t *testing.T, msg, evn2 string) string {
	t.Helper()
	segs := strings.Split(msg, "\r")
	for i, s := range segs {
		if strings.HasPrefix(s, "EVN|") {
			f := strings.Split(s, "|")
			for len(f) < 3 {
				f = append(f, "")
			}
			f[2] = evn2
			segs[i] = strings.Join(f, "|")
			return strings.Join(segs, "\r")
		}
	}
	segs = append(segs[:1], append([]string{"EVN|A03|" + evn2}, segs[1:]...)...)
	return strings.Join(segs, "\r")
}

func TestPostDischargeSupportFlag(t *testing.T) {
	tests := []struct {
		zuk  string
		want *bool
	}{
		{"", nil},
		{"\rZUK|||Y", ptr(true)},
		{"\rZUK|||N", ptr(false)},
		{"\rZUK|Y||", nil}, // utskrivningsklar, silent on support
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.zuk), func(t *testing.T) {
			a, pub, _ := newTestAdapter(t)
			msg := strings.TrimRight(string(readTestdata(t, "a01-ryhov-utf8.hl7")), "\r\n") + tt.zuk + "\r"
			acks := a.Handle(context.Background(), []byte(msg), false, "test")
			if code, _, errCode, _ := ackOf(t, acks[0]); code != AckAccept {
				t.Fatalf("ACK %s %s", code, errCode)
			}
			resources, err := swefhir.ParseCollectionBundle(pub.Stored()[0].Data())
			if err != nil {
				t.Fatal(err)
			}
			var enc struct {
				Extension []struct {
					URL          string `json:"url"`
					ValueBoolean *bool  `json:"valueBoolean"`
				} `json:"extension"`
			}
			if err := json.Unmarshal(resources[0].Raw, &enc); err != nil {
				t.Fatal(err)
			}
			var got *bool
			for _, x := range enc.Extension {
				if x.URL == swefhir.ExtensionPostDischargeSupport {
					got = x.ValueBoolean
				}
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("post-discharge-support = %v, want %v", fmtBool(got), fmtBool(tt.want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func fmtBool(b *bool) string {
	if b == nil {
		return "absent"
	}
	return strconv.FormatBool(*b)
}
