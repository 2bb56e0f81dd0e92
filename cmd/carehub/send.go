package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/time/rate"

	"github.com/carehub/carehub/adapters/hl7v2"
	"github.com/carehub/carehub/adapters/hl7v2/mllp"
)

// sendCmd is the integration engineer's HL7 client and load generator.
type sendCmd struct {
	MLLP        string        `name:"mllp" required:"" placeholder:"HOST:PORT" help:"MLLP listener to send to."`
	Files       []string      `arg:"" type:"existingfile" help:"HL7 v2 files; each may hold many messages (CR, LF or CRLF, BOM allowed)."`
	Timeout     time.Duration `name:"timeout" default:"10s" help:"How long to wait for each acknowledgement."`
	Connections int           `name:"connections" default:"1" help:"Parallel connections; message i goes on connection i mod N, in order."`
	Rate        float64       `name:"rate" default:"0" help:"Messages per second over all connections; 0 sends as fast as acknowledgements come."`
	Repeat      int           `name:"repeat" default:"1" help:"Send the files this many times; repeats get MSH-10 suffix -rN so they are new messages."`
	Quiet       bool          `name:"quiet" short:"q" help:"Print only rejections and the summary."`
	TLSCA       string        `name:"tls-ca" help:"PEM CA bundle: speak TLS and verify the server."`
	TLSCert     string        `name:"tls-cert" help:"PEM client certificate for mutual TLS."`
	TLSKey      string        `name:"tls-key" help:"PEM key of --tls-cert."`
}

type sendResult struct {
	index   int
	control string
	code    string
	text    string
	latency time.Duration
	err     error
}

func (s *sendCmd) Run() error {
	if s.Connections < 1 || s.Repeat < 1 || s.Rate < 0 {
		return errors.New("--connections and --repeat must be at least 1, --rate not negative")
	}
	var base [][]byte
	for _, f := range s.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		msgs := hl7v2.SplitMessages(data)
		if len(msgs) == 0 {
			return fmt.Errorf("%s holds no HL7 message (no line starts with MSH)", f)
		}
		base = append(base, msgs...)
	}
	msgs := make([][]byte, 0, len(base)*s.Repeat)
	for r := range s.Repeat {
		for _, m := range base {
			if r > 0 {
				m = hl7v2.WithControlIDSuffix(m, fmt.Sprintf("-r%d", r))
			}
			msgs = append(msgs, m)
		}
	}
	var tlsConfig *tls.Config
	if s.TLSCA != "" || s.TLSCert != "" {
		var err error
		if tlsConfig, err = mllp.LoadClientTLS(s.TLSCA, s.TLSCert, s.TLSKey); err != nil {
			return fmt.Errorf("loading TLS settings: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var limiter *rate.Limiter
	if s.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(s.Rate), 1)
	}
	bar := newProgress(len(msgs))
	results := make(chan sendResult, len(msgs))
	start := time.Now()
	var wg sync.WaitGroup
	for c := range min(s.Connections, len(msgs)) {
		wg.Go(func() {
			s.sendConnection(ctx, tlsConfig, limiter, msgs, c, results)
		})
	}
	go func() { wg.Wait(); close(results) }()

	var latencies []time.Duration
	counts := map[string]int{}
	failed := 0
	for r := range results {
		_ = bar.Add(1)
		if r.err != nil {
			failed++
			_ = bar.Clear()
			fmt.Printf("%s\tERROR\t%v\n", r.control, r.err)
			continue
		}
		counts[r.code]++
		latencies = append(latencies, r.latency)
		accepted := r.code == hl7v2.AckAccept || r.code == hl7v2.AckCommit || r.code == "-"
		if !accepted {
			failed++
		}
		if !s.Quiet || !accepted {
			_ = bar.Clear()
			fmt.Printf("%s\t%s\t%s\n", r.control, r.code, r.text)
		}
	}
	_ = bar.Finish()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	fmt.Fprintf(os.Stderr, "sent %d messages in %s (%.0f msg/s) on %d connection(s): %s; ACK latency p50 %s p99 %s\n",
		len(msgs), elapsed.Round(time.Millisecond), float64(len(msgs))/elapsed.Seconds(), min(s.Connections, len(msgs)),
		summariseCounts(counts, len(msgs)-len(latencies)), pct(latencies, 0.5), pct(latencies, 0.99))
	if failed > 0 {
		return fmt.Errorf("%d of %d messages were not accepted", failed, len(msgs))
	}
	return nil
}

// sendConnection sends messages c, c+N, c+2N, ... in order on one
// connection, reconnecting after a failed exchange.
func (s *sendCmd) sendConnection(ctx context.Context, tlsConfig *tls.Config, limiter *rate.Limiter, msgs [][]byte, c int, out chan<- sendResult) {
	var client *mllp.Client
	defer func() {
		if client != nil {
			_ = client.Close()
		}
	}()
	for i := c; i < len(msgs); i += s.Connections {
		msg := msgs[i]
		control := controlIDOf(msg)
		if limiter != nil {
			if err := limiter.Wait(ctx); err != nil {
				out <- sendResult{index: i, control: control, err: err}
				continue
			}
		}
		if client == nil {
			dctx, cancel := context.WithTimeout(ctx, s.Timeout)
			var err error
			client, err = mllp.Dial(dctx, s.MLLP, tlsConfig)
			cancel()
			if err != nil {
				client = nil
				out <- sendResult{index: i, control: control, err: fmt.Errorf("connecting to %s: %w", s.MLLP, err)}
				continue
			}
		}
		want := hl7v2.ExpectedAcks(msg)
		sctx, cancel := context.WithTimeout(ctx, s.Timeout)
		began := time.Now()
		acks, err := client.Exchange(sctx, msg, want)
		cancel()
		latency := time.Since(began)
		if err != nil {
			_ = client.Close()
			client = nil
			out <- sendResult{index: i, control: control, err: fmt.Errorf("no acknowledgement: %w", err)}
			continue
		}
		if want == 0 {
			out <- sendResult{index: i, control: control, code: "-", text: "no acknowledgement requested (MSH-15/16)", latency: latency}
			continue
		}
		// The last acknowledgement is the application's verdict in
		// enhanced mode, and the only one otherwise.
		sum, err := hl7v2.SummariseAck(acks[len(acks)-1])
		if err != nil {
			out <- sendResult{index: i, control: control, err: fmt.Errorf("unreadable acknowledgement: %w", err)}
			continue
		}
		out <- sendResult{index: i, control: control, code: sum.Code, text: ackText(sum), latency: latency}
	}
}

func ackText(s hl7v2.AckSummary) string {
	if s.ErrorCode != "" {
		return s.ErrorCode + " " + s.Text
	}
	return s.Text
}

func controlIDOf(msg []byte) string {
	if sum, err := hl7v2.SummariseMessageHeader(msg); err == nil {
		return sum
	}
	return "?"
}

func summariseCounts(counts map[string]int, errs int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for _, k := range keys {
		out += fmt.Sprintf("%s %d, ", k, counts[k])
	}
	return out + fmt.Sprintf("errors %d", errs)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)].Round(10 * time.Microsecond)
}

// newProgress shows a progress bar on a terminal for long runs only.
func newProgress(total int) *progressbar.ProgressBar {
	visible := total >= 100 && isTerminal(os.Stderr)
	var w io.Writer = os.Stderr
	if !visible {
		w = io.Discard
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription("sending"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("msg"), progressbar.OptionThrottle(100*time.Millisecond))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
