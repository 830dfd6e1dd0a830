package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"candor/internal/progress"
	"candor/syncclient"
)

const syncSynopsis = `candor sync pull --server URL --token TOKEN [--socks ADDR] [--since N] -o BUNDLE
       candor sync push --server URL --token TOKEN [--socks ADDR] OUTBOX

The token may also come from --token-file FILE or $CANDOR_SYNC_TOKEN (safer than the command line).
--socks ADDR dials through a SOCKS5 proxy (tor's SocksPort, e.g. 127.0.0.1:9050); .onion names
are resolved by the proxy.`

func runSync(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "pull" && args[0] != "push") {
		fmt.Fprintf(stderr, "Usage: %s\n", syncSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errUsage
	}
	fs := newFlagSet("sync "+args[0], syncSynopsis, stderr)
	o := syncOptions{stderr: stderr}
	fs.StringVar(&o.server, "server", "", "server URL (http://….onion or http://127.0.0.1:PORT)")
	fs.StringVar(&o.token, "token", os.Getenv("CANDOR_SYNC_TOKEN"), "sync token")
	tokenFile := fs.String("token-file", "", "read the sync token from FILE")
	fs.StringVar(&o.socks, "socks", "", "SOCKS5 proxy address (tor)")
	since := fs.String("since", "", "pull everything after feed position N (0: everything)")
	out := fs.String("o", "", "write the bundle to FILE")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		o.token = strings.TrimSpace(string(b))
	}
	if o.server == "" || o.token == "" {
		return errors.New("give --server URL and a token (--token, --token-file or $CANDOR_SYNC_TOKEN)")
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	if args[0] == "pull" {
		if fs.NArg() != 0 || *out == "" {
			return errors.New("candor sync pull takes no arguments and needs -o BUNDLE")
		}
		return syncHint(syncPull(c, o, *since, *out, stdout), o)
	}
	if fs.NArg() != 1 {
		return errors.New("candor sync push takes one OUTBOX file")
	}
	return syncHint(syncPush(c, o, fs.Arg(0), stdout), o)
}

// syncHint adds the next step to the refusals a reviewer meets (none when err is nil).
func syncHint(err error, o syncOptions) error {
	var ae *syncclient.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return withHint(err, "the server does not know this token: it is mistyped, or a newer `candor reviewer token` "+
			"replaced it. Check that the token file holds only the token; else ask the admin for a new one")
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		return withHint(err, "this outbox is older than one pushed since, so its envelopes are refused: "+
			"write those replies or changes again with candor-inbox and push the new outbox")
	case o.socks != "" && strings.Contains(err.Error(), "connection refused"):
		return withHint(err, "nothing answers on --socks "+o.socks+": start tor on this machine with "+
			"`SocksPort "+o.socks+"` (docs/reviewer.md, section 2)")
	case o.socks != "" && strings.Contains(err.Error(), "onion"):
		return withHint(err, "check the restricted onion address and that your tor's ClientOnionAuthDir holds the "+
			"client_auth line in a file ending in .auth_private (docs/reviewer.md, section 2); then reload tor")
	}
	return err
}

type syncOptions struct {
	server, token, socks string
	stderr               io.Writer
}

func (o syncOptions) client() (*syncclient.Client, error) {
	return syncclient.New(o.server, o.token, o.socks)
}

// syncPull downloads, verifies and writes the bundle (syncclient.PullFile).
func syncPull(c *syncclient.Client, o syncOptions, since, out string, stdout io.Writer) error {
	h, err := c.PullFile(context.Background(), since, out, func(r io.Reader) io.Reader {
		return progress.NewReader(r, progress.Terminal(o.stderr), "pull")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: feed %d..%d for %s\n", out, h.Since, h.Until, h.Reviewer)
	return nil
}

func syncPush(c *syncclient.Client, o syncOptions, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	n, err := c.Push(context.Background(), progress.NewReader(f, progress.Terminal(o.stderr), "push"), st.Size())
	if errors.Is(err, syncclient.ErrAlreadyPushed) {
		fmt.Fprintln(stdout, err) // a second push of the same outbox is not a failure: exit 0
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the server accepted %d envelopes\n", n)
	return nil
}
