package transition_test

import (
	"slices"

	"github.com/carehub/carehub/pkg/transition"
)

// orgList is a directory of the rules' own view, searched in order: enough
// for tests, and free of the file and credential handling of the real one.
type orgList []transition.Org

func (l orgList) find(match func(transition.Org) bool) (transition.Org, bool) {
	i := slices.IndexFunc(l, match)
	if i < 0 {
		return transition.Org{}, false
	}
	return l[i], true
}

func (l orgList) Organisation(id string) (transition.Org, bool) {
	return l.find(func(o transition.Org) bool { return o.ID == id })
}

// ByMunicipalityCode finds municipalities only, as the real directory does.
func (l orgList) ByMunicipalityCode(code string) (transition.Org, bool) {
	return l.find(func(o transition.Org) bool {
		return o.Kind == transition.OrgMunicipality && slices.Contains(o.MunicipalityCodes, code)
	})
}

func (l orgList) ByHSAID(hsaID string) (transition.Org, bool) {
	return l.find(func(o transition.Org) bool { return hsaID != "" && o.HSAID == hsaID })
}

func (l orgList) ByFacility(facility string) (transition.Org, bool) {
	return l.find(func(o transition.Org) bool { return slices.Contains(o.Facilities, facility) })
}
