package router

import (
	"github.com/carehub/carehub/pkg/directory"
	"github.com/carehub/carehub/pkg/transition"
)

// rulesDirectory shows the organisation directory to the rules as the
// view they declare, so that the rules never see tokens or webhooks.
type rulesDirectory struct{ dir *directory.Directory }

func (d rulesDirectory) Organisation(id string) (transition.Org, bool) {
	return ruleOrg(d.dir.Organisation(id))
}

func (d rulesDirectory) ByMunicipalityCode(code string) (transition.Org, bool) {
	return ruleOrg(d.dir.ByMunicipalityCode(code))
}

func (d rulesDirectory) ByHSAID(hsaID string) (transition.Org, bool) {
	return ruleOrg(d.dir.ByHSAID(hsaID))
}

func (d rulesDirectory) ByFacility(facility string) (transition.Org, bool) {
	return ruleOrg(d.dir.ByFacility(facility))
}

// ruleOrg converts a directory entry; the directory hands out copies, so
// the view may keep its slices.
func ruleOrg(o directory.Organisation, ok bool) (transition.Org, bool) {
	if !ok {
		return transition.Org{}, false
	}
	v := transition.Org{
		ID: o.ID, Kind: transition.OrgKind(o.Kind), HSAID: o.HSAID,
		Facilities: o.Facilities, MunicipalityCodes: o.MunicipalityCodes,
		OptOut: o.OptOut, EscalateTo: o.EscalateTo,
	}
	if a := o.PaymentAgreement; a != nil {
		v.PaymentAgreement = &transition.PaymentAgreement{Days: a.Days, DayZeroBeforeNoon: a.DayZeroBeforeNoon}
	}
	return v, true
}
