package bench

import (
	"context"
	"errors"
	"fmt"
)

// cluster is the running bahasha serve nodes of a run: one, or --nodes of
// them sharing --database.
type cluster []*platform

// startCluster starts n nodes of "binary serve". The first one listens
// before the others start: it applies the migrations and creates the
// default account, which the others then find in place.
func startCluster(ctx context.Context, binary string, env, args []string, n int) (cluster, error) {
	c := make(cluster, 0, n)
	for i := range n {
		p, err := startPlatform(ctx, binary, env, args)
		if err != nil {
			c.stop()
			if n > 1 {
				err = fmt.Errorf("node %d of %d: %w", i+1, n, err)
			}
			return nil, err
		}
		c = append(c, p)
	}
	return c, nil
}

// stop kills every node, waits for them and removes their data folders. It
// is safe to call more than once.
func (c cluster) stop() {
	for _, p := range c {
		p.stop()
	}
}

// exited reports why a node stopped, or nil while all of them run.
func (c cluster) exited() error {
	for i, p := range c {
		if err := p.exited(); err != nil {
			if len(c) > 1 {
				err = fmt.Errorf("node %d of %d: %w", i+1, len(c), err)
			}
			return err
		}
	}
	return nil
}

func (c cluster) pids() []int {
	pids := make([]int, len(c))
	for i, p := range c {
		pids[i] = p.pid()
	}
	return pids
}

// readProcs reads /proc for each of pids.
func readProcs(pids []int) ([]procStats, error) {
	stats := make([]procStats, len(pids))
	var errs []error
	for i, pid := range pids {
		s, err := readProc(pid)
		if err != nil {
			errs = append(errs, err)
		}
		stats[i] = s
	}
	return stats, errors.Join(errs...)
}

// sumProcs adds up the CPU time and resident memory of stats.
func sumProcs(stats []procStats) procStats {
	var sum procStats
	for _, s := range stats {
		sum.CPU += s.CPU
		sum.RSS += s.RSS
		sum.PeakRSS += s.PeakRSS
	}
	return sum
}

// nodeFor is the node that carries the ingest request of batch b, which
// goes to endpoint b % endpoints: round-robin over consecutive requests,
// shifted by one every round of endpoints so that each endpoint's events
// reach every node rather than always the same one.
func nodeFor(b, endpoints, nodes int) int {
	return (b%endpoints + b/endpoints) % nodes
}
