package transition_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/careevent"
	"github.com/carehub/carehub/pkg/transition"
)

// TestDisplayTextForEveryKind: every kind in the catalogue is named for
// people; a kind added without a display text fails here.
func TestDisplayTextForEveryKind(t *testing.T) {
	seen := map[string]careevent.NotificationKind{}
	for _, kind := range careevent.NotificationKinds() {
		t.Run(string(kind), func(t *testing.T) {
			text := transition.DisplayText(kind)
			if strings.TrimSpace(text) == "" {
				t.Fatalf("kind %s has no display text", kind)
			}
			if other, dup := seen[text]; dup {
				t.Errorf("kinds %s and %s share the display text %q", other, kind, text)
			}
			seen[text] = kind
		})
	}
	if got := transition.DisplayText("no-such-kind"); got != "" {
		t.Errorf("unknown kind displayed as %q", got)
	}
}

func TestDeadlineNotices(t *testing.T) {
	due := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	const (
		ack, sip, payment = transition.DeadlineReadyAcknowledgement, transition.DeadlineSIPInvitation, transition.DeadlinePaymentResponsibility
		kommun, haga      = "jonkoping-kommun", "rjl-vc-haga"
		samordning        = "rjl-samordning" // a region's coordination unit
	)
	tests := []struct {
		name, kind, org, escalateTo string
		want                        []string // kind>org
	}{
		{"unacknowledged notice: overdue to the municipality", ack, kommun, "", []string{"overdue>" + kommun}},
		{"overdue is escalated", ack, kommun, samordning, []string{"overdue>" + kommun, "overdue>" + samordning}},
		{"no SIP: overdue to primary care and its escalation", sip, haga, samordning, []string{"overdue>" + haga, "overdue>" + samordning}},
		{"escalation to itself is one notice", sip, haga, haga, []string{"overdue>" + haga}},
		{"payment responsibility: the municipality and the hospital", payment, kommun, "",
			[]string{"payment-responsibility>" + kommun, "payment-responsibility>rjl-ryhov"}},
		{"payment responsibility is not escalated", payment, kommun, samordning,
			[]string{"payment-responsibility>" + kommun, "payment-responsibility>rjl-ryhov"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deadline := transition.Deadline{ID: "d1", Kind: tt.kind, OrgID: tt.org, EscalateTo: tt.escalateTo, DueAt: due,
				EncounterOrg: "rjl-ryhov", EncounterID: "e1", Reason: "the notice was not acknowledged in time"}
			notices := transition.DeadlineNotices(deadline)
			var got []string
			ids := map[string]bool{}
			for _, n := range notices {
				got = append(got, string(n.Kind)+">"+n.OrgID)
				if n.ID == "" || ids[n.ID] {
					t.Errorf("notice without a unique id: %+v", n)
				}
				ids[n.ID] = true
				if n.EncounterOrg != "rjl-ryhov" || n.EncounterID != "e1" {
					t.Errorf("notice about %s/%s, want the deadline's stay", n.EncounterOrg, n.EncounterID)
				}
				if !strings.HasPrefix(n.Reason, deadline.Reason) || !strings.Contains(n.Reason, deadline.Kind) {
					t.Errorf("reason %q does not say which deadline passed", n.Reason)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("notices %v, want %v", got, tt.want)
			}
			// Firing again (another hub instance, a retry) names the same notices.
			for i, n := range transition.DeadlineNotices(deadline) {
				if n.ID != notices[i].ID {
					t.Errorf("notice %d id changed from %s to %s", i, notices[i].ID, n.ID)
				}
			}
		})
	}
}
