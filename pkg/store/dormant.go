package store

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// Dormancy is what a batch decided about one patient's dormant history
// (transition.Dormant): of the subjects whose facts were read, exactly
// Dormant are dormant now, all of which ended before Before (zero when
// none is).
type Dormancy struct {
	PatientKey string
	Read       []string
	Dormant    []string
	Before     time.Time
}

// queueDormancy marks the facts read as dormant or awake and records the
// patients' horizons. Only facts of subjects that were read are touched, so
// the statement costs no more than the load did.
func queueDormancy(b *pgx.Batch, ds []Dormancy) {
	for _, d := range ds {
		b.Queue(`UPDATE patient_facts SET dormant = (subject = ANY($3::text[]))
			WHERE patient_key = $1 AND subject = ANY($2::text[]) AND dormant <> (subject = ANY($3::text[]))`,
			d.PatientKey, nonNil(d.Read), nonNil(d.Dormant))
		var before *time.Time
		if !d.Before.IsZero() {
			before = &d.Before
		}
		b.Queue(`UPDATE patients SET dormant_before = $2 WHERE patient_key = $1`, d.PatientKey, before)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
