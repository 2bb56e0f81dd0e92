package swefhir_test

import (
	"errors"
	"fmt"

	"github.com/carehub/carehub/pkg/swefhir"
)

func ExampleNormaliseNationalID() {
	kind := swefhir.KindOfSystem("urn:oid:1.2.752.129.2.1.3.1") // personnummer, OID form
	id, err := swefhir.NormaliseNationalID(kind, "19121212-1212")
	fmt.Println(id, err)

	_, err = swefhir.NormaliseNationalID(kind, "191212121213")
	fmt.Println(errors.Is(err, swefhir.ErrInvalidNationalID), err)
	// Output:
	// 191212121212 <nil>
	// true invalid national identifier: check digit does not match (Luhn)
}

func ExampleLuhnCheckDigit() {
	// A synthetic samordningsnummer: born 1985-07-14, 60 added to the day.
	nine := "850774238"
	id := "19" + nine + string(swefhir.LuhnCheckDigit(nine))
	_, err := swefhir.NormaliseNationalID(swefhir.IDSamordningsnummer, id)
	fmt.Println(id, err)
	// Output:
	// 198507742388 <nil>
}
