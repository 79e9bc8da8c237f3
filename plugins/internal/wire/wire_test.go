package wire

import (
	"context"
	"net/url"
	"reflect"
	"testing"
	"time"

	pb "github.com/ssogate/ssogate/plugins/proto"
)

func TestStuckCalls(t *testing.T) {
	c := calls{running: map[*call]struct{}{}}
	t0 := time.Now()

	live := c.track(context.Background()) // never ends: busy, not stuck
	defer live()

	ctx, cancel := context.WithCancel(context.Background())
	done := c.track(ctx)
	cancel() // the host gave up; the provider did not return

	tests := []struct {
		name  string
		after time.Duration
		now   time.Time
		want  int
	}{
		{"just ended", time.Second, time.Now(), 0},
		{"ended long ago", time.Second, t0.Add(time.Minute), 1},
	}
	waitEnded(t, &c)
	for _, tt := range tests {
		if got := c.stuck(tt.after, tt.now); got != tt.want {
			t.Errorf("%s: stuck = %d, want %d", tt.name, got, tt.want)
		}
	}
	done() // it returned at last
	if got := c.stuck(time.Second, t0.Add(time.Minute)); got != 0 {
		t.Errorf("after return: stuck = %d", got)
	}
}

// waitEnded waits for context.AfterFunc to record the cancellation.
func waitEnded(t *testing.T, c *calls) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := 0
		for cl := range c.running {
			if !cl.ended.IsZero() {
				n++
			}
		}
		c.mu.Unlock()
		if n == 1 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("cancellation never recorded")
}

func TestValuesRoundTrip(t *testing.T) {
	tests := []struct {
		in   url.Values
		want url.Values
	}{
		{nil, nil},
		{url.Values{}, nil},
		{url.Values{"b": {"2"}, "a": {"1", "1b"}}, url.Values{"a": {"1", "1b"}, "b": {"2"}}},
	}
	for _, tt := range tests {
		pv := ValuesToProto(tt.in)
		for i := 1; i < len(pv); i++ {
			if pv[i-1].Key > pv[i].Key {
				t.Errorf("keys not sorted: %v", pv)
			}
		}
		if got := ValuesFromProto(pv); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("round trip of %v = %v", tt.in, got)
		}
	}
	dup := []*pb.Values{{Key: "k", Values: []string{"1"}}, {Key: "k", Values: []string{"2"}}}
	if got := ValuesFromProto(dup); !reflect.DeepEqual(got, url.Values{"k": {"1", "2"}}) {
		t.Errorf("duplicate keys: %v", got)
	}
}
