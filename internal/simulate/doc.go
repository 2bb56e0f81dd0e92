// Package simulate generates deterministic, realistic Swedish care traffic
// for carehub together with its own ground truth.
//
// A Region (Jönköpings län, Kronoberg) holds municipalities with their real
// SCB codes and populations, hospitals, primary care units and an SSIH
// team. Generate draws a synthetic population from a seed and simulates
// hospital stays, emergency visits, utskrivningsklar, discharges to
// short-term units and home, readmissions and municipal/SSIH episodes, then
// perturbs the delivery order (duplicates, out-of-order arrivals) the way
// real feeds do. The same seed gives byte-identical output.
//
// The oracle (Expect) derives the notifications the hub must end up with
// from what the generator knows happened, independently of the hub's rule
// engine; Compare checks what the hub published against it.
//
// No real person appears anywhere: names, addresses and personnummer are
// synthetic (valid Luhn check digits, drawn from the seed).
package simulate
