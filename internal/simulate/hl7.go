package simulate

import (
	"strings"
	"time"
)

// HL7 v2 rendering: ADT 2.5, UTF-8, CR segment terminators, Swedish
// identifiers as adapters/hl7v2/README.md describes.

const (
	hl7Application  = "SIMEHR"
	oidPersonnummer = "1.2.752.129.2.1.3.1"
)

var messageStructures = map[string]string{
	TriggerAdmit: "ADT_A01", TriggerRegister: "ADT_A01", TriggerUpdate: "ADT_A01", TriggerPendingDischrg: "ADT_A16",
	TriggerDischarge: "ADT_A03", TriggerCancelAdmit: "ADT_A09", TriggerCancelDischarge: "ADT_A01",
}

// hl7Time formats a time as an HL7 DTM with seconds and an explicit
// offset, so that no receiver has to guess the zone around DST changes.
func hl7Time(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("20060102150405-0700")
}

// segment joins fields 1..n of a segment; fields[i] is field i.
func segment(name string, fields map[int]string) string {
	n := 0
	for i := range fields {
		n = max(n, i)
	}
	parts := make([]string, n+1)
	parts[0] = name
	for i, v := range fields {
		parts[i] = v
	}
	return strings.Join(parts, "|")
}

// hospitalMessage is an event's hospital message and its patient; ok is
// false for home-care events, which have none.
func (s *Simulation) hospitalMessage(e *Event) (m *HospitalMessage, p *Person, ok bool) {
	if e.Hospital == nil {
		return nil, nil, false
	}
	return e.Hospital, s.People[e.Patient], true
}

// HL7 renders an event's hospital message; it is empty for home-care
// events.
func (s *Simulation) HL7(e *Event) []byte {
	m, p, ok := s.hospitalMessage(e)
	if !ok {
		return nil
	}
	loc, stay := s.loc, m.Stay
	h := stay.Hospital
	at := hl7Time(e.At, loc)
	segs := []string{
		"MSH|^~\\&|" + strings.Join([]string{hl7Application, h.Facility, "CAREHUB", "CAREHUB", at, "",
			"ADT^" + m.Trigger + "^" + messageStructures[m.Trigger], m.ControlID, "P", "2.5", "", "", "", "", "SE", "UNICODE UTF-8"}, "|"),
		segment("EVN", map[int]string{1: m.Trigger, 2: at}),
		segment("PID", map[int]string{1: "1",
			3:  p.Personnummer + "^^^&" + oidPersonnummer + "&ISO^PN",
			5:  p.Family + "^" + p.Given,
			7:  p.Birth.Format("20060102"),
			8:  p.Sex,
			11: p.Street + "^^" + p.Municipality.Name + "^^" + p.PostalCode + "^SE^H^^" + p.Municipality.Code,
		}),
		segment("PD1", map[int]string{3: p.PrimaryCare.Name + "^^" + p.PrimaryCare.HSAID + "^^^^^^^" + p.PrimaryCare.HSAID}),
	}
	pv1 := map[int]string{1: "1", 2: stay.Class, 3: stay.Ward + "^" + stay.Room + "^" + stay.Bed + "^" + h.Facility,
		19: stay.Visit, 44: hl7Time(stay.AdmitAt, loc)}
	if m.Trigger == TriggerDischarge {
		pv1[36] = m.Disposition
		if m.Destination != "" {
			pv1[37] = m.Destination
		}
		pv1[45] = hl7Time(m.DischargeAt, loc)
	}
	segs = append(segs, segment("PV1", pv1))
	if !m.Expected.IsZero() {
		segs = append(segs, segment("PV2", map[int]string{9: m.Expected.In(loc).Format("20060102")}))
	}
	if m.Readiness != "" {
		segs = append(segs, segment("ZUK", map[int]string{1: m.Readiness, 2: at}))
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}
