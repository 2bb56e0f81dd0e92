package simulate

import (
	"encoding/json"
	"time"
)

// homecareJSON is the wire form of schemas/homecare/episode-event.schema.json,
// fields in schema order.
type homecareJSON struct {
	ID               string          `json:"id"`
	OccurredAt       string          `json:"occurredAt"`
	Organisation     string          `json:"organisation"`
	MunicipalityCode string          `json:"municipalityCode"`
	Patient          homecarePatient `json:"patient"`
	Service          string          `json:"service"`
	Status           string          `json:"status"`
	Unit             homecareUnit    `json:"unit"`
	CareContext      string          `json:"careContext,omitempty"`
}

type homecarePatient struct {
	Personnummer string `json:"personnummer"`
}

type homecareUnit struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// HomecareJSON renders an event's home-care episode event as one JSON
// line (no trailing newline); it is empty for hospital events.
func (s *Simulation) HomecareJSON(e *Event) []byte {
	h := e.Homecare
	if h == nil {
		return nil
	}
	p := s.People[e.Patient]
	b, err := json.Marshal(homecareJSON{
		ID: h.ID, OccurredAt: e.At.In(s.loc).Format(time.RFC3339), Organisation: h.Org,
		MunicipalityCode: p.Municipality.Code, Patient: homecarePatient{Personnummer: p.Personnummer},
		Service: h.Service, Status: h.Status, Unit: homecareUnit{Name: h.Unit, Phone: h.Phone}, CareContext: h.CareContext,
	})
	if err != nil {
		// Plain strings only: marshalling cannot fail.
		panic(err)
	}
	return b
}
