package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Browser starts headless Chromium (Chromium, skipping with an install hint if it is missing)
// with page scripts disabled, as Tor Browser runs at its Safest level, and returns a context of
// one tab that ends after timeout and when the test ends. extra adds allocator options (a SOCKS
// proxy, for example).
func Browser(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(Chromium(t)), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	SetScripts(t, ctx, false)
	return ctx
}

// SetScripts turns the pages' scripts on or off in the tab of ctx (on: only while a test runs
// axe-core, which is a script; the pages have none of their own).
func SetScripts(t testing.TB, ctx context.Context, on bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		t.Fatalf("script execution: %v", err)
	}
}
