package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type statsOptions struct {
	containers []string
	all        bool
	noStream   bool
	noTrunc    bool
	format     string
}

func newStatsCommand(cc *cliContext) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runStats(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	flags.BoolVar(&opts.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	return cmd
}

// Default `stats` format and column titles, as docker's.
const statsTableFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeaders = map[string]string{
	"Container": "CONTAINER",
	"ID":        "CONTAINER ID",
	"Name":      "NAME",
	"CPUPerc":   "CPU %",
	"MemUsage":  "MEM USAGE / LIMIT",
	"MemPerc":   "MEM %",
	"NetIO":     "NET I/O",
	"BlockIO":   "BLOCK I/O",
	"PIDs":      "PIDS",
}

// statsRefresh is how often the streaming display is redrawn.
const statsRefresh = 500 * time.Millisecond

// statsEntry is the latest figures for one container, as docker's
// StatsEntry; invalid until a sample has been decoded, or after an error.
type statsEntry struct {
	container        string // as named on the command line, or the short ID
	name             string
	id               string
	cpuPercentage    float64
	memory           float64
	memoryLimit      float64
	memoryPercentage float64
	networkRx        float64
	networkTx        float64
	blockRead        float64
	blockWrite       float64
	pidsCurrent      uint64
	invalid          bool
}

// statsFromSample computes docker's figures from one stats sample: CPU %
// from the deltas against the sample's own precpu_stats, memory without
// the inactive file cache (cgroup v1's total_inactive_file, v2's
// inactive_file), network and block I/O summed over interfaces and devices.
func statsFromSample(v container.StatsResponse) statsEntry {
	memory := memoryUsageNoCache(v.MemoryStats)
	limit := float64(v.MemoryStats.Limit)
	var memPercent float64
	if limit != 0 {
		memPercent = memory / limit * 100
	}
	rx, tx := networkIO(v.Networks)
	read, write := blockIO(v.BlkioStats)
	return statsEntry{
		name:             v.Name,
		id:               v.ID,
		cpuPercentage:    cpuPercent(v.PreCPUStats, v.CPUStats),
		memory:           memory,
		memoryLimit:      limit,
		memoryPercentage: memPercent,
		networkRx:        rx,
		networkTx:        tx,
		blockRead:        read,
		blockWrite:       write,
		pidsCurrent:      v.PidsStats.Current,
	}
}

// cpuPercent is cpu delta / system delta × online CPUs × 100; the number of
// per-CPU counters stands in for online_cpus when the daemon omits it.
func cpuPercent(previous, current container.CPUStats) float64 {
	cpuDelta := float64(current.CPUUsage.TotalUsage) - float64(previous.CPUUsage.TotalUsage)
	systemDelta := float64(current.SystemUsage) - float64(previous.SystemUsage)
	onlineCPUs := float64(current.OnlineCPUs)
	if onlineCPUs == 0 {
		onlineCPUs = float64(len(current.CPUUsage.PercpuUsage))
	}
	if systemDelta > 0 && cpuDelta > 0 {
		return cpuDelta / systemDelta * onlineCPUs * 100
	}
	return 0
}

// memoryUsageNoCache is the memory usage minus the inactive page cache.
func memoryUsageNoCache(mem container.MemoryStats) float64 {
	if inactive, v1 := mem.Stats["total_inactive_file"]; v1 && inactive < mem.Usage {
		return float64(mem.Usage - inactive)
	}
	if inactive := mem.Stats["inactive_file"]; inactive < mem.Usage {
		return float64(mem.Usage - inactive)
	}
	return float64(mem.Usage)
}

func networkIO(networks map[string]container.NetworkStats) (rx, tx float64) {
	for _, n := range networks {
		rx += float64(n.RxBytes)
		tx += float64(n.TxBytes)
	}
	return rx, tx
}

func blockIO(stats container.BlkioStats) (read, write float64) {
	for _, entry := range stats.IoServiceBytesRecursive {
		if entry.Op == "" {
			continue
		}
		switch entry.Op[0] {
		case 'r', 'R':
			read += float64(entry.Value)
		case 'w', 'W':
			write += float64(entry.Value)
		}
	}
	return read, write
}

// statsRow renders an entry; its methods are the --format fields.
type statsRow struct {
	e     statsEntry
	trunc bool
}

func (r *statsRow) Container() string { return r.e.container }

func (r *statsRow) Name() string {
	if len(r.e.name) > 1 {
		return strings.TrimPrefix(r.e.name, "/")
	}
	return "--"
}

func (r *statsRow) ID() string {
	if r.trunc {
		return shortID(r.e.id)
	}
	return r.e.id
}

func (r *statsRow) CPUPerc() string {
	if r.e.invalid {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", r.e.cpuPercentage)
}

func (r *statsRow) MemUsage() string {
	if r.e.invalid {
		return "-- / --"
	}
	return units.BytesSize(r.e.memory) + " / " + units.BytesSize(r.e.memoryLimit)
}

func (r *statsRow) MemPerc() string {
	if r.e.invalid {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", r.e.memoryPercentage)
}

func (r *statsRow) NetIO() string {
	if r.e.invalid {
		return "--"
	}
	return units.HumanSizeWithPrecision(r.e.networkRx, 3) + " / " + units.HumanSizeWithPrecision(r.e.networkTx, 3)
}

func (r *statsRow) BlockIO() string {
	if r.e.invalid {
		return "--"
	}
	return units.HumanSizeWithPrecision(r.e.blockRead, 3) + " / " + units.HumanSizeWithPrecision(r.e.blockWrite, 3)
}

func (r *statsRow) PIDs() string {
	if r.e.invalid {
		return "--"
	}
	return fmt.Sprint(r.e.pidsCurrent)
}

func (r *statsRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"BlockIO":   r.BlockIO(),
		"CPUPerc":   r.CPUPerc(),
		"Container": r.Container(),
		"ID":        r.ID(),
		"MemPerc":   r.MemPerc(),
		"MemUsage":  r.MemUsage(),
		"Name":      r.Name(),
		"NetIO":     r.NetIO(),
		"PIDs":      r.PIDs(),
	})
}

// statsCollector is one container's stream of samples.
type statsCollector struct {
	container string // as named on the command line, or the short ID

	mu    sync.Mutex
	entry statsEntry
	err   error
	first chan struct{} // closed at the first sample or error
	once  sync.Once
}

func (s *statsCollector) set(entry statsEntry, err error) {
	s.mu.Lock()
	if err != nil {
		s.entry.invalid = true
		s.err = err
	} else {
		s.entry, s.err = entry, nil
	}
	s.mu.Unlock()
	s.once.Do(func() { close(s.first) })
}

func (s *statsCollector) snapshot() (statsEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := s.entry
	entry.container = s.container
	return entry, s.err
}

// collect reads the container's samples until the stream ends.
func (s *statsCollector) collect(ctx context.Context, api *client.Client, stream bool) {
	res, err := api.ContainerStats(ctx, s.container, client.ContainerStatsOptions{
		Stream: stream,
		// Ask for precpu_stats, without which there is no CPU %.
		IncludePreviousSample: true,
	})
	if err != nil {
		s.set(statsEntry{}, err)
		return
	}
	defer res.Body.Close()
	decoder := json.NewDecoder(res.Body)
	for {
		var sample container.StatsResponse
		if err := decoder.Decode(&sample); err != nil {
			s.set(statsEntry{}, err)
			return
		}
		s.set(statsFromSample(sample), nil)
		if !stream {
			return
		}
	}
}

// statsBoard holds the collectors in display order.
type statsBoard struct {
	mu         sync.Mutex
	collectors []*statsCollector
}

// add starts collecting for a container not already on the board.
func (b *statsBoard) add(ctx context.Context, api *client.Client, name string, stream bool) *statsCollector {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.collectors {
		if c.container == name {
			return nil
		}
	}
	c := &statsCollector{container: name, entry: statsEntry{invalid: true}, first: make(chan struct{})}
	b.collectors = append(b.collectors, c)
	go c.collect(ctx, api, stream)
	return c
}

func (b *statsBoard) remove(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, c := range b.collectors {
		if c.container == name {
			b.collectors = append(b.collectors[:i], b.collectors[i+1:]...)
			return
		}
	}
}

func (b *statsBoard) list() []*statsCollector {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*statsCollector(nil), b.collectors...)
}

// runStats shows the containers' resource usage: named containers, or all
// running ones (all with -a). With --no-stream it prints one table once
// every container has a sample; otherwise it redraws the table in place
// every half second, like docker, until interrupted.
func runStats(ctx context.Context, cc *cliContext, opts statsOptions) error {
	format := parseOutputFormat(statsTableFormat)
	if opts.format != "" && opts.format != tableFormat {
		format = parseOutputFormat(opts.format)
	}
	if _, err := parseTemplate(format.template); err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := !opts.noStream
	board := &statsBoard{}

	if len(opts.containers) == 0 {
		if stream {
			watchContainerEvents(ctx, api, board, opts.all)
		}
		list, err := api.ContainerList(ctx, client.ContainerListOptions{All: opts.all})
		if err != nil {
			return err
		}
		for _, c := range list.Items {
			board.add(ctx, api, shortID(c.ID), stream)
		}
	} else {
		for _, name := range opts.containers {
			board.add(ctx, api, name, stream)
		}
	}
	var failures []string
	for _, c := range board.list() {
		select {
		case <-c.first:
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := c.snapshot(); err != nil && len(opts.containers) > 0 {
			failures = append(failures, cc.explain(err).Error())
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "\n"))
	}

	render := func() error {
		var rows []*statsRow
		for _, c := range board.list() {
			entry, _ := c.snapshot()
			rows = append(rows, &statsRow{e: entry, trunc: !opts.noTrunc})
		}
		var table bytes.Buffer
		if err := writeRows(&table, format, statsHeaders, rows); err != nil {
			return err
		}
		if !stream {
			_, err := table.WriteTo(cc.stdout)
			return err
		}
		return writeRedrawn(cc.stdout, table.String())
	}
	if !stream {
		return render()
	}
	ticker := time.NewTicker(statsRefresh)
	defer ticker.Stop()
	for {
		if err := render(); err != nil {
			return err
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeRedrawn writes text over the previous screenful as docker stats
// does: cursor home, each line followed by erase-to-end-of-line, then
// erase below.
func writeRedrawn(out io.Writer, text string) error {
	var b strings.Builder
	b.WriteString("\033[H")
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString(line)
		b.WriteString("\033[K\n")
	}
	b.WriteString("\033[J")
	_, err := io.WriteString(out, b.String())
	return err
}

// watchContainerEvents keeps the board of `stats` (without names) current:
// started containers appear (created ones too with -a) and, without -a,
// containers that die disappear.
func watchContainerEvents(ctx context.Context, api *client.Client, board *statsBoard, all bool) {
	filters := client.Filters{}.Add("type", string(events.ContainerEventType))
	res := api.Events(ctx, client.EventsListOptions{Filters: filters})
	go func() {
		for {
			select {
			case msg := <-res.Messages:
				id := shortID(msg.Actor.ID)
				switch {
				case msg.Action == events.ActionStart, all && msg.Action == events.ActionCreate:
					board.add(ctx, api, id, true)
				case !all && msg.Action == events.ActionDie:
					board.remove(id)
				}
			case <-res.Err:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}
