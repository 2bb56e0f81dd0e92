package simulate

import (
	"fmt"
	"time"

	"github.com/carehub/carehub/pkg/swefhir"
)

// Personnummer forms a 12-digit personnummer YYYYMMDDNNNC from a birth
// date and a three-digit birth number; the third digit of the birth number
// is odd for men and even for women, and C is the Luhn check digit over
// the last ten digits.
func Personnummer(birth time.Time, serial int) string {
	nine := fmt.Sprintf("%s%03d", birth.Format("060102"), serial%1000)
	return birth.Format("2006")[:2] + nine + string(swefhir.LuhnCheckDigit(nine))
}
