// The benchmark's websocket listeners, in one Go process: a client that costs the two cores
// it shares with the server under test little, so the spread of `finished` it measures is
// the server's. The `websockets` library in Python, holding 10,000 sockets in one event loop,
// used more CPU than the bare floor server itself and made that wave look 2.5x as long.
//
// Usage: bench-listeners -url ws://... -count N [-timeout 300s], the bearer token (if any)
// in BENCH_TOKEN. It opens N listeners and prints "ready" once each has had its snapshot (or
// failed); when every one has ended it prints one JSON array, a result per listener.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// result is what bench/fanout.py's Listener holds; FinishedAt is in seconds since this
// process started (only differences between listeners are used).
type result struct {
	Kinds      []string `json:"kinds"`
	FinishedAt *float64 `json:"finished_at"`
	Refused    *int     `json:"refused"`
	Error      *string  `json:"error"`
}

// At most this many handshakes under way at once: clients arriving in waves, as the Python
// client's event loop let them.
const dialsAtOnce = 256

type wave struct {
	url      string
	header   http.Header
	deadline time.Time
	start    time.Time
	dialer   websocket.Dialer
	dials    chan struct{}
	waiting  atomic.Int64 // listeners without their snapshot yet
	allReady chan struct{}
}

func (w *wave) ready() {
	if w.waiting.Add(-1) == 0 {
		close(w.allReady)
	}
}

func (w *wave) fail(r *result, err error) {
	text := err.Error()
	r.Error = &text
}

// listen follows one listener until its server closes it, recording what arrived and when.
func (w *wave) listen(r *result) {
	counted := false
	defer func() {
		if !counted {
			w.ready()
		}
	}()
	w.dials <- struct{}{}
	conn, response, err := w.dialer.Dial(w.url, w.header)
	<-w.dials
	if err != nil {
		if response != nil {
			status := response.StatusCode
			r.Refused = &status
		} else {
			w.fail(r, err)
		}
		return
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(w.deadline)
	for {
		_, data, err := conn.ReadMessage()
		arrived := time.Since(w.start).Seconds() // before this client's own parsing
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				w.fail(r, err)
			}
			return
		}
		var message struct{ Type string }
		if err := json.Unmarshal(data, &message); err != nil {
			w.fail(r, err)
			return
		}
		r.Kinds = append(r.Kinds, message.Type)
		switch message.Type {
		case "snapshot":
			if !counted {
				counted = true
				w.ready()
			}
		case "finished":
			r.FinishedAt = &arrived
		}
	}
}

func main() {
	url := flag.String("url", "", "the websocket URL every listener opens")
	count := flag.Int("count", 1, "how many listeners")
	timeout := flag.Duration("timeout", 300*time.Second, "how long a listener may stay open")
	flag.Parse()
	header := http.Header{}
	if token := os.Getenv("BENCH_TOKEN"); token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	w := &wave{
		url:      *url,
		header:   header,
		start:    time.Now(),
		deadline: time.Now().Add(*timeout),
		dialer:   websocket.Dialer{HandshakeTimeout: 60 * time.Second},
		dials:    make(chan struct{}, dialsAtOnce),
		allReady: make(chan struct{}),
	}
	w.waiting.Store(int64(*count))
	results := make([]result, *count)
	var all sync.WaitGroup
	for i := range results {
		all.Add(1)
		go func(r *result) {
			defer all.Done()
			w.listen(r)
		}(&results[i])
	}
	if *count > 0 {
		<-w.allReady
	}
	fmt.Println("ready")
	all.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
