// Command gpx_tracegap is the Tracegap data source's backend: Grafana starts
// it and talks to it over gRPC.
package main

import (
	"os"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/tracegap/correlator/pkg/hugepages"
	"github.com/tracegap/correlator/pkg/plugin"
	"github.com/tracegap/correlator/pkg/settings"
)

func main() {
	// Huge pages for the first part of the heap (settings.HugePagesEnv),
	// before anything else has used the heap (see hugepages.Advise).
	adviseHugePages()
	// A soft memory limit for the process, when the plugin's grafana.ini
	// section sets one (see settings.MemoryLimitEnv): the garbage collector
	// then works harder near it instead of letting the heap double.
	if limit, ok, err := settings.MemoryLimit(os.Getenv); err != nil {
		log.DefaultLogger.Error(err.Error())
	} else if ok {
		debug.SetMemoryLimit(limit)
	}
	if err := datasource.Manage(plugin.PluginID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}

func adviseHugePages() {
	size, err := settings.HugePages(os.Getenv)
	if err != nil {
		log.DefaultLogger.Error(err.Error())
		return
	}
	r, err := hugepages.Advise(size, os.Getenv("GODEBUG"))
	if err != nil {
		// The heap works as before, with 4 KiB pages.
		log.DefaultLogger.Warn("Tracegap could not advise huge pages for its heap", "error", err.Error(), "thpMode", r.Mode)
		return
	}
	log.DefaultLogger.Debug("Tracegap huge pages", "thpMode", r.Mode, "advisedBytes", r.Size)
}
