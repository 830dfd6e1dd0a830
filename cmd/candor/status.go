package main

import (
	"candor/admin"
	"fmt"
	"io"
	"sort"
	"time"
)

func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "candor status --data DIR [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	return adminCommand(fs, data, args, 0, func(a adminAPI) error {
		s, err := a.Status()
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, s)
		}
		fmt.Fprintf(stdout, "public onion:     http://%s\nrestricted onion: http://%s\n", s.PublicOnion, s.RestrictedOnion)
		fmt.Fprintf(stdout, "tor:              %s\n", s.Tor)
		fmt.Fprintf(stdout, "cases:            %d (%d overdue)\n", s.Cases, s.Overdue)
		statuses := make([]string, 0, len(s.ByStatus))
		for k := range s.ByStatus {
			statuses = append(statuses, k)
		}
		sort.Strings(statuses)
		for _, k := range statuses {
			fmt.Fprintf(stdout, "  %-16s %d\n", k, s.ByStatus[k])
		}
		unusual := ""
		if s.UnusualRate {
			unusual = " (UNUSUALLY MANY: a spam wave? reviewers can triage and delete)"
		}
		fmt.Fprintf(stdout, "reports today:    %d%s\n", s.SubmissionsToday, unusual)
		fmt.Fprintf(stdout, "reviewers:        %d\nlog entries:      %d\nstore size:       %d bytes\n",
			s.Reviewers, s.LogSize, s.StoreBytes)
		fmt.Fprintf(stdout, "server key:       %s\n", s.ServerKey)
		fmt.Fprintf(stdout, "log origin:       %s\nlog key:          %s\n", s.LogOrigin, s.LogKey)
		fmt.Fprintf(stdout, "witnessed:        %d of %d entries (%d witnesses)\n", s.WitnessedSize, s.LogSize, s.Witnesses)
		for _, a := range s.Alarms {
			fmt.Fprintf(stderr, "candor: ALARM: %s\n", a)
		}
		return nil
	})
}

// runHealth is the container's HEALTHCHECK: exit 0 if candor serve's heartbeat is fresh and tor runs.
func runHealth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("health", "candor health --data DIR", stderr)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 0); err != nil {
		return err
	}
	h, err := admin.CheckHealth(*data, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "healthy: heartbeat %s, tor %s\n", h.Time.Format(time.RFC3339), h.Tor)
	return nil
}
