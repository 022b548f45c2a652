// Command gpx_tracegap is the Tracegap data source's backend: Grafana starts
// it and talks to it over gRPC.
package main

import (
	"os"
	"runtime/debug"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/tracegap/correlator/pkg/plugin"
	"github.com/tracegap/correlator/pkg/settings"
)

func main() {
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
