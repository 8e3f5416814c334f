package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// report prints res on w: one JSON object with cfg.JSON, else a table.
func report(w io.Writer, cfg Config, res Result) error {
	if cfg.JSON {
		return json.NewEncoder(w).Encode(res)
	}
	var b strings.Builder
	rate := "as fast as it goes"
	if res.Rate > 0 {
		rate = fmt.Sprintf("%s events/s offered", thousands(res.Rate))
	}
	if res.Hold {
		rate += ", sinks holding deliveries during ingest (--hold)"
	}
	database := res.Database
	if res.Nodes > 1 {
		database += fmt.Sprintf(", %d nodes", res.Nodes)
	}
	healthyN := res.Endpoints - res.SlowEndpoints - res.HangingEndpoints - res.FailingEndpoints
	fanout := ""
	if res.Fanout > 1 {
		fanout = fmt.Sprintf(", fan-out %d (%d webhook endpoints per account, each event delivered to all)", res.Fanout, res.Fanout)
	}
	fmt.Fprintf(&b, "bahasha bench: %d endpoints (%d healthy, %d slow, %d hanging, %d failing)%s, max-batch %d, %s, %gs / ≤%d events, %s\n",
		res.Endpoints, healthyN, res.SlowEndpoints, res.HangingEndpoints, res.FailingEndpoints, fanout, res.MaxBatch, rate, res.DurationS, res.EventsLimit, database)
	if res.Note != "" {
		fmt.Fprintf(&b, "note: %s\n", res.Note)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	cols := []Figures{res.Figures}
	fmt.Fprint(tw, "\tall endpoints\t")
	if res.Healthy != nil {
		cols = append(cols, *res.Healthy)
		fmt.Fprint(tw, "healthy only\t")
	}
	fmt.Fprintln(tw)
	row := func(name string, cell func(f Figures) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, f := range cols {
			fmt.Fprintf(tw, "%s\t", cell(f))
		}
		fmt.Fprintln(tw)
	}
	fan := res.Fanout > 1
	row("events acknowledged", func(f Figures) string { return thousands(float64(f.Events)) })
	if fan {
		row("deliveries (event copies)", func(f Figures) string { return thousands(float64(f.Delivered)) })
		row(fmt.Sprintf("events delivered to all %d", res.Fanout), func(f Figures) string { return thousands(float64(f.EventsDelivered)) })
	} else {
		row("events delivered", func(f Figures) string { return thousands(float64(f.Delivered)) })
	}
	row("ingest events/s", func(f Figures) string {
		return fmt.Sprintf("%s (%.2f× ceiling)", thousands(f.IngestPerS), f.IngestRatio)
	})
	if fan {
		row("deliveries/s", func(f Figures) string {
			return fmt.Sprintf("%s (%.2f× ceiling)", thousands(f.DeliveredPerS), f.DeliveredRatio)
		})
		row(fmt.Sprintf("events delivered to all %d/s", res.Fanout), func(f Figures) string { return thousands(f.EventsPerS) })
		row("deliveries per webhook endpoint/s", func(f Figures) string {
			accounts := "accounts"
			if f.Endpoints == 1 {
				accounts = "account"
			}
			return fmt.Sprintf("%s (%d endpoints of %d %s)", thousands(f.DeliveredPerEndpointPerS), f.Sinks, f.Endpoints, accounts)
		})
	} else {
		row("delivered events/s", func(f Figures) string {
			return fmt.Sprintf("%s (%.2f× ceiling)", thousands(f.DeliveredPerS), f.DeliveredRatio)
		})
		row("delivered per endpoint/s", func(f Figures) string {
			return fmt.Sprintf("%s (%d endpoints)", thousands(f.DeliveredPerEndpointPerS), f.Endpoints)
		})
	}
	held := ""
	if res.Hold {
		held = " (held: not delivery latency)"
	}
	latency := "latency"
	if fan {
		latency = "latency of every copy"
	}
	row(latency+" p50 / p95 / p99", func(f Figures) string {
		return fmt.Sprintf("%s / %s / %s ms%s", ms(f.P50MS), ms(f.P95MS), ms(f.P99MS), held)
	})
	row(latency+" max", func(f Figures) string { return ms(f.MaxMS) + " ms" + held })
	if fan {
		row("latency to the last copy p50 / p99", func(f Figures) string {
			return fmt.Sprintf("%s / %s ms%s", ms(f.CompleteP50MS), ms(f.CompleteP99MS), held)
		})
	}
	row("duplicates", func(f Figures) string { return thousands(float64(f.Duplicates)) })
	row("lost", func(f Figures) string {
		if f.Lost > 0 {
			return fmt.Sprintf("%d  <-- LOST", f.Lost)
		}
		return "0"
	})
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if fan {
		fmt.Fprintf(tw, "platform CPU\t%.4f s per 1,000 deliveries, %.4f s per 1,000 events (%.1f s in all; the bench itself used %.1f s)\n",
			res.CPUSPer1k, res.CPUSPer1kEvents, res.PlatformCPUS, res.BenchCPUS)
		fmt.Fprintf(tw, "per webhook endpoint\t%s\n", perCopy(res.DeliveredPerCopy))
	} else {
		fmt.Fprintf(tw, "platform CPU\t%.4f s per 1,000 delivered events (%.1f s in all; the bench itself used %.1f s)\n", res.CPUSPer1k, res.PlatformCPUS, res.BenchCPUS)
	}
	if res.Nodes > 1 {
		fmt.Fprintf(tw, "CPU per node\t%s s\n", joinFloats(res.NodeCPUS, "%.1f"))
		fmt.Fprintf(tw, "platform peak RSS\t%.1f MB, the largest node's (nodes: %s MB)\n", res.PeakRSSMB, joinFloats(res.NodePeakRSSMB, "%.1f"))
	} else {
		fmt.Fprintf(tw, "platform peak RSS\t%.1f MB\n", res.PeakRSSMB)
	}
	fmt.Fprintf(tw, "loopback ceiling\t%s POSTs/s (%.4f CPU s per 1,000), measured in this run\n", thousands(res.CeilingPostsPerS), res.CeilingCPUSPer1k)
	fmt.Fprintf(tw, "healthy sinks\t%s POSTs, %.2f events per POST\n", thousands(float64(res.SinkPosts)), res.EventsPerPost)
	fmt.Fprintf(tw, "phases\tingest %.1f s (%d producers, %d events per POST), drain %.1f s\n", res.IngestS, res.Producers, res.IngestBatch, res.DrainS)
	fmt.Fprintf(tw, "ingest POSTs\t%s / %s ms to the 202, p50 / p99\n", ms(res.IngestAckP50MS), ms(res.IngestAckP99MS))
	if fan {
		fmt.Fprintf(tw, "backlog\tpeak %s deliveries pending; the drain phase delivered %s/s\n", thousands(float64(res.BacklogPeak)), thousands(res.DrainPerS))
	} else {
		fmt.Fprintf(tw, "backlog\tpeak %s events pending; the drain phase delivered %s events/s\n", thousands(float64(res.BacklogPeak)), thousands(res.DrainPerS))
	}
	fmt.Fprintf(tw, "machine\t%d CPUs, load average %s before, %s after\n", res.CPUs, res.LoadAvgBefore, res.LoadAvgAfter)
	if res.Misrouted+res.Unexpected+res.Rejected > 0 {
		fmt.Fprintf(tw, "ERRORS\t%d misrouted, %d unexpected, %d rejected by the SDK\n", res.Misrouted, res.Unexpected, res.Rejected)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// thousands formats x rounded, with commas: 12,345.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// perCopy says how many events the k-th webhook endpoints of the accounts
// received, for each k: every figure when there are few, else the least and
// the most.
func perCopy(xs []int64) string {
	if len(xs) == 0 {
		return "none"
	}
	if len(xs) > 8 {
		lo, hi := slices.Min(xs), slices.Max(xs)
		return fmt.Sprintf("endpoints no. 1 to %d of the accounts (summed over them) received %s to %s events each", len(xs), thousands(float64(lo)), thousands(float64(hi)))
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = thousands(float64(x))
	}
	return fmt.Sprintf("endpoints no. 1 to %d of the accounts (summed over them) received %s events", len(xs), strings.Join(parts, " / "))
}

// joinFloats formats xs with format, separated by " / ".
func joinFloats(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " / ")
}
