package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestParkReasonHidesData: a parked event's reason goes to logs, the
// quarantine headers and the auditor's list, so PostgreSQL's message,
// which may quote the value it refused, is left out.
func TestParkReasonHidesData(t *testing.T) {
	const personal = "Öberg 194502134317"
	tests := []struct {
		name      string
		err       error
		want      string
		mustNotIn string
	}{
		{
			name: "database refusal",
			err: fmt.Errorf("applying batch: %w", &pgconn.PgError{Code: "22P02",
				Message: `invalid input syntax for type json: "` + personal + `"`, TableName: "encounters", ColumnName: "resource"}),
			want:      "PostgreSQL refused the event's data: SQLSTATE 22P02, table encounters, column resource",
			mustNotIn: personal,
		},
		{name: "carehub's own error", err: fmt.Errorf("%w: EpisodeOfCare has no id", errPoison), want: "EpisodeOfCare has no id"},
		{name: "plain", err: errors.New("decoding event: bad data"), want: "decoding event: bad data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parkReason(tt.err)
			if !strings.Contains(got, tt.want) || (tt.mustNotIn != "" && strings.Contains(got, tt.mustNotIn)) {
				t.Errorf("parkReason = %q, want %q without the data", got, tt.want)
			}
		})
	}
}
