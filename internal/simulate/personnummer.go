package simulate

import (
	"fmt"
	"time"
)

// luhn returns the check digit of the nine digits YYMMDDNNN (the Luhn
// algorithm with weights 2,1,2,1,...).
func luhn(nine string) byte {
	sum := 0
	for i := range len(nine) {
		d := int(nine[i]-'0') * (2 - i%2)
		sum += d/10 + d%10
	}
	return byte('0' + (10-sum%10)%10)
}

// Personnummer forms a 12-digit personnummer YYYYMMDDNNNC from a birth
// date and a three-digit birth number; the third digit of the birth number
// is odd for men and even for women, and C is the Luhn check digit over
// the last ten digits.
func Personnummer(birth time.Time, serial int) string {
	nine := fmt.Sprintf("%s%03d", birth.Format("060102"), serial%1000)
	return birth.Format("2006")[:2] + nine + string(luhn(nine))
}

// ValidPersonnummer reports whether p is 12 digits with a correct Luhn
// check digit over the last ten.
func ValidPersonnummer(p string) bool {
	if len(p) != 12 {
		return false
	}
	for i := range len(p) {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return luhn(p[2:11]) == p[11]
}
