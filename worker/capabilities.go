package worker

import (
	"github.com/minis-gg/studio-worker/worker/config"
	"github.com/minis-gg/studio-worker/worker/engine"
	"github.com/minis-gg/studio-worker/worker/hostinfo"
	"github.com/minis-gg/studio-worker/worker/protocol"
)

// Host is what capabilities say about the machine; probed once per process.
type Host struct {
	MachineName string
	Username    string
	VRAMTotalGb float64
}

// ProbeHost reads the machine facts (the VRAM probe is cached per process).
func ProbeHost() Host {
	return Host{MachineName: hostinfo.MachineName(), Username: hostinfo.Username(), VRAMTotalGb: hostinfo.VRAMTotalGb()}
}

// BuildCapabilities describes this worker from live settings, so an edited
// threshold reaches the studio with the next heartbeat. hasUI says whether
// auto_start means anything in this build.
func BuildCapabilities(s config.Settings, e *engine.Multi, h Host, version string, enabled, hasUI bool) protocol.Capabilities {
	return protocol.Capabilities{
		MachineName:            h.MachineName,
		Username:               h.Username,
		AgentVersion:           version,
		Engine:                 "multi",
		VRAMTotalGb:            h.VRAMTotalGb,
		VRAMThresholdGb:        s.VRAMThresholdGb,
		AutoEnabled:            enabled,
		AutoStart:              hasUI && s.AutoStart,
		AutoUpdate:             s.AutoUpdateEnabled,
		StartMinimised:         s.StartMinimised,
		OnlyWhenIdle:           false, // presence detection is not implemented, so never promise it
		SupportedModels:        e.SupportedModels(),
		TaskKinds:              e.TaskKinds(),
		SupportedModelsPerKind: e.ModelsPerKind(),
	}
}
