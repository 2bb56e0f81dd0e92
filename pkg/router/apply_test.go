package router

import (
	"slices"
	"testing"
	"time"

	"github.com/carehub/carehub/pkg/store"
	"github.com/carehub/carehub/pkg/transition"
)

func TestLiveIDFollowsRetractions(t *testing.T) {
	const id = "n1"
	first, second := transition.ReissueID(id), transition.ReissueID(transition.ReissueID(id))
	logged := func(ids ...string) *patientWork {
		pw := &patientWork{log: map[string]store.LoggedNotification{}}
		for _, x := range ids {
			pw.log[x] = store.LoggedNotification{ID: x}
		}
		return pw
	}
	tests := []struct {
		name string
		pw   *patientWork
		want string
	}{
		{"never sent: send it", logged(), id},
		{"sent and standing", logged(id), id},
		{"sent and retracted: reissue", logged(id, transition.CancellationID(id)), first},
		{"reissue standing", logged(id, transition.CancellationID(id), first), first},
		{"reissue retracted too: next reissue", logged(id, transition.CancellationID(id), first, transition.CancellationID(first)), second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pw.live(id); got != tt.want {
				t.Errorf("live = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSyncDeadlines(t *testing.T) {
	due := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	stored := func(id, status string) *store.Deadline {
		return &store.Deadline{ID: id, Status: status, DueAt: due}
	}
	tests := []struct {
		name          string
		have          []*store.Deadline
		want          []string
		wantInserted  []string
		wantCancelled []string
	}{
		{"new deadline stored", nil, []string{"d1"}, []string{"d1"}, nil},
		{"pending and still wanted: untouched", []*store.Deadline{stored("d1", store.DeadlinePending)}, []string{"d1"}, nil, nil},
		{"pending, no longer wanted: cancelled", []*store.Deadline{stored("d1", store.DeadlinePending)}, nil, nil, []string{"d1"}},
		{"fired stays fired", []*store.Deadline{stored("d1", store.DeadlineFired)}, nil, nil, nil},
		{"cancelled is not stored again when wanted again", []*store.Deadline{stored("d1", store.DeadlineCancelled)}, []string{"d1"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw := &patientWork{deadlines: map[string]*store.Deadline{}}
			for _, d := range tt.have {
				pw.deadlines[d.ID] = d
			}
			var want []transition.Deadline
			for _, id := range tt.want {
				want = append(want, transition.Deadline{ID: id, DueAt: due})
			}
			w := &work{}
			w.syncDeadlines("k", pw, want)
			var inserted []string
			for _, d := range w.deadlines {
				inserted = append(inserted, d.ID)
			}
			if !slices.Equal(inserted, tt.wantInserted) || !slices.Equal(w.cancelled, tt.wantCancelled) {
				t.Errorf("inserted %v cancelled %v, want %v and %v", inserted, w.cancelled, tt.wantInserted, tt.wantCancelled)
			}
		})
	}
}
