package directory

import (
	"reflect"
	"strings"
	"testing"
)

// The schema checks what yaml.v3 then decodes into the structs, so the two
// must name the same fields with matching shapes, in the same order (the
// order messages list them in).
func TestSchemaMatchesModel(t *testing.T) {
	shapeOf := func(typ reflect.Type) shape {
		switch {
		case typ.Kind() == reflect.String:
			return single
		case typ.Kind() == reflect.Int:
			return integer
		case typ.Kind() == reflect.Bool:
			return boolean
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.String:
			return list
		case typ.Kind() == reflect.Pointer && typ.Elem().Kind() == reflect.Struct:
			return mapping
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
			return mappings
		}
		t.Fatalf("no shape for %s", typ)
		return 0
	}
	var check func(sc schema, typ reflect.Type)
	check = func(sc schema, typ reflect.Type) {
		var tags []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			tags = append(tags, tag)
			j := len(tags) - 1
			if j >= len(sc.fields) || sc.fields[j].name != tag {
				continue // reported below
			}
			if got, want := sc.fields[j].shape, shapeOf(f.Type); got != want {
				t.Errorf("%s.%s: schema shape %d, the struct's is %d", typ, tag, got, want)
			}
			if of := sc.fields[j].of; of != nil {
				check(*of, f.Type.Elem())
			}
		}
		if got, want := sc.names(), strings.Join(tags, ", "); got != want {
			t.Errorf("%s: schema fields %s, yaml tags %s", typ, got, want)
		}
	}
	check(directorySchema(), reflect.TypeFor[document]())
}

func TestWalkKeepsText(t *testing.T) {
	// An unquoted 0680 would be the number 680 to YAML; explicit tags do
	// not change the text either, nor fail the decode.
	d, err := Parse([]byte(`organisations:
  - id: jonkoping-kommun
    name: !!binary SsO2bmvDtnBpbmc=
    kind: municipality
    municipalityCodes: [0680, !!int 0681, 0686]
`), "dir.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := d.Organisation("jonkoping-kommun")
	if o.Name != "SsO2bmvDtnBpbmc=" || strings.Join(o.MunicipalityCodes, " ") != "0680 0681 0686" {
		t.Errorf("got name %q, codes %q", o.Name, o.MunicipalityCodes)
	}
}

// parseErrors returns the error lines of a document that must not load.
func parseErrors(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Parse([]byte(doc), "dir.yaml")
	if err == nil {
		t.Fatal("want an error")
	}
	return strings.Split(err.Error(), "\n")
}

func checkErrors(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An empty element is reported where it is; yaml.v3 alone would drop it and
// shift the elements after it.
func TestWalkEmptyListElement(t *testing.T) {
	checkErrors(t, parseErrors(t, `organisations:
  - id: rjl-ryhov
    name: Länssjukhuset Ryhov
    kind: hospital
    facilities:
      - RYHOV
      -
      - " RYHOV AKUT"
`), []string{
		"dir.yaml:7: organisations[0].facilities[1]: must not be empty",
		`dir.yaml:8: organisations[0].facilities[2]: " RYHOV AKUT" must not start or end with whitespace or hold tabs or line breaks`,
	})
}

// Anchors behave like copies; an aliased value is blamed where it is
// written out.
func TestWalkAliases(t *testing.T) {
	checkErrors(t, parseErrors(t, `organisations:
  - &ryhov
    id: rjl-ryhov
    name: Länssjukhuset Ryhov
    kind: hospital
    facilities: &facilities [RYHOV]
  - *ryhov
  - id: rjl-hoglandet
    name: Höglandssjukhuset
    kind: hospital
    facilities: *facilities
    webhooks: [*facilities]
`), []string{
		`dir.yaml:3: organisations[1].id: "rjl-ryhov" is already used by organisations[0].id on line 3`,
		// The shape check's message comes first among those of one line.
		"dir.yaml:6: organisations[2].webhooks[0]: must be a mapping with the fields url, secret, secretEnv, payload, kinds, not a list",
		`dir.yaml:6: organisations[1].facilities[0]: "RYHOV" already belongs to rjl-ryhov (organisations[0].facilities[0] on line 6); a facility belongs to exactly one organisation`,
		`dir.yaml:6: organisations[2].facilities[0]: "RYHOV" already belongs to rjl-ryhov (organisations[0].facilities[0] on line 6); a facility belongs to exactly one organisation`,
	})
}

func TestWalkPaymentAgreement(t *testing.T) {
	const head = `organisations:
  - id: rjl-ryhov
    name: Länssjukhuset Ryhov
    kind: hospital
`
	tests := []struct {
		agreement string
		want      []string
	}{
		// One message for one mistake: the agreement is not checked further.
		{"{days: [2]}", []string{"dir.yaml:5: organisations[0].paymentAgreement.days: must be a single value, not a list"}},
		// The missing days first, as the schema lists the fields.
		{"{dayZeroBeforeNoon: maybe}", []string{
			"dir.yaml:5: organisations[0].paymentAgreement.days: is required: calendar days after the notice, 1 to 30",
			`dir.yaml:5: organisations[0].paymentAgreement.dayZeroBeforeNoon: "maybe" must be true or false`,
		}},
		{"{days: '', dayZeroBeforeNoon: ~}", []string{"dir.yaml:5: organisations[0].paymentAgreement.days: is required: calendar days after the notice, 1 to 30"}},
		// Days are written in decimal; YAML's octal and hex are refused,
		// not read as other numbers.
		{"{days: 010}", []string{`dir.yaml:5: organisations[0].paymentAgreement.days: "010" must be a whole number of calendar days, 1 to 30`}},
		{"{days: 0x1e}", []string{`dir.yaml:5: organisations[0].paymentAgreement.days: "0x1e" must be a whole number of calendar days, 1 to 30`}},
		{"{days: 31, days: 2}", []string{
			"dir.yaml:5: organisations[0].paymentAgreement.days: duplicate field (first given on line 5)",
			"dir.yaml:5: organisations[0].paymentAgreement: days must be 1 to 30 calendar days, not 31",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.agreement, func(t *testing.T) {
			checkErrors(t, parseErrors(t, head+"    paymentAgreement: "+tt.agreement+"\n"), tt.want)
		})
	}
}

// Quotes do not matter for an integer or a boolean: like text, it is read
// by what is written.
func TestWalkQuotedAgreement(t *testing.T) {
	d, err := Parse([]byte(`organisations:
  - id: rjl-ryhov
    name: Länssjukhuset Ryhov
    kind: hospital
    paymentAgreement: {days: "2", dayZeroBeforeNoon: 'true'}
`), "dir.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := d.Organisation("rjl-ryhov"); o.PaymentAgreement == nil || *o.PaymentAgreement != (PaymentAgreement{Days: 2, DayZeroBeforeNoon: true}) {
		t.Errorf("agreement = %+v", o.PaymentAgreement)
	}
}
