package site

import (
	"errors"
	"fmt"
	"time"
)

// The load balancer's health check by default: the F5's http monitor checks
// every 5s and marks a node down after 16s without an answer, which its
// fourth failed check covers.
const (
	DefaultCheckInterval = 5 * time.Second
	DefaultCheckFall     = 4
)

// maxDrain bounds load_balancer.drain: an upgrade waits that long per host.
const maxDrain = time.Hour

// DrainTime returns how long a web host drains before its units restart:
// drain, or check_interval × check_fall when the file leaves it out. It is
// meaningful on a validated site.
func (lb LoadBalancer) DrainTime() time.Duration {
	if d, err := time.ParseDuration(lb.Drain); err == nil && lb.Drain != "" {
		return d
	}
	interval, err := time.ParseDuration(lb.CheckInterval)
	if err != nil || lb.CheckInterval == "" {
		interval = DefaultCheckInterval
	}
	fall := lb.CheckFall
	if fall == 0 {
		fall = DefaultCheckFall
	}
	return interval * time.Duration(fall)
}

// loadBalancer fills a load balancer's health check and drain time at path
// ("load_balancer" or "instances[N].load_balancer").
func (d defaulter) loadBalancer(path string, lb *LoadBalancer) {
	if !d.ps.written(path + ".forwards_for") {
		lb.ForwardsFor = true
	}
	d.str(path+".check_interval", &lb.CheckInterval, DefaultCheckInterval.String())
	d.num(path+".check_fall", &lb.CheckFall, DefaultCheckFall)
	if lb.Drain == "" && !d.ps.written(path+".drain") {
		if _, err := time.ParseDuration(lb.CheckInterval); err == nil {
			lb.Drain = lb.DrainTime().String()
		}
	}
}

// lbHealthCheck checks a load balancer's health check and drain time at path.
func (v *validator) lbHealthCheck(path string, lb LoadBalancer) {
	if d, err := time.ParseDuration(lb.CheckInterval); err != nil || d <= 0 || d > time.Minute {
		v.bad(path+".check_interval", lb.CheckInterval, notDuration("above 0s, at most 1m"),
			"write the load balancer's health check interval, e.g. 5s")
	}
	if lb.CheckFall < 1 || lb.CheckFall > 100 {
		v.bad(path+".check_fall", fmt.Sprint(lb.CheckFall), errors.New("is not a count from 1 to 100"),
			"write how many failed checks take a host out, e.g. 4")
	}
	if d, err := time.ParseDuration(lb.Drain); lb.Drain != "" && (err != nil || d < 0 || d > maxDrain) {
		v.bad(path+".drain", lb.Drain, notDuration("from 0s to 1h"),
			"write a duration, e.g. 30s, or leave it out for check_interval × check_fall")
	}
}

// notDuration says what a duration must be, e.g. "is not a duration from 0s to 1h".
func notDuration(want string) error { return fmt.Errorf("is not a duration %s", want) }
