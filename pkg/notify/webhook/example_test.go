package webhook_test

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/carehub/carehub/pkg/notify/webhook"
)

func ExampleSign() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := time.Unix(1614265330, 0)
	fmt.Println(webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", ts, []byte(`{"test": 2432232314}`), secret))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleVerify() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	// What a receiver reads from the request's headers and body.
	id := "msg_p5jXN8AQM9LWM0D4loKWxJek"
	timestamp := "1614265330"
	signature := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	body := []byte(`{"test": 2432232314}`)

	sent, _ := strconv.ParseInt(timestamp, 10, 64)
	now := time.Unix(sent, 0).Add(30 * time.Second) // the request took a while to arrive

	fmt.Println(webhook.Verify(id, timestamp, signature, body, now, webhook.DefaultTolerance, secret))

	tampered := []byte(`{"test": 1}`)
	err = webhook.Verify(id, timestamp, signature, tampered, now, webhook.DefaultTolerance, secret)
	fmt.Println(errors.Is(err, webhook.ErrSignature))

	replayed := now.Add(time.Hour)
	err = webhook.Verify(id, timestamp, signature, body, replayed, webhook.DefaultTolerance, secret)
	fmt.Println(errors.Is(err, webhook.ErrTimestamp))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleSchedule_Next() {
	schedule, err := webhook.ParseSchedule(webhook.DefaultSchedule)
	if err != nil {
		fmt.Println(err)
		return
	}
	noJitter := func() float64 { return 0.5 }
	for attempt := 1; ; attempt++ {
		delay, ok := schedule.Next(attempt, 0, noJitter)
		if !ok {
			fmt.Printf("after failure %d: dead letter\n", attempt)
			break
		}
		fmt.Printf("after failure %d: retry in %s\n", attempt, delay)
	}
	// Output:
	// after failure 1: retry in 5s
	// after failure 2: retry in 5m0s
	// after failure 3: retry in 30m0s
	// after failure 4: retry in 2h0m0s
	// after failure 5: retry in 5h0m0s
	// after failure 6: retry in 10h0m0s
	// after failure 7: retry in 10h0m0s
	// after failure 8: dead letter
}
