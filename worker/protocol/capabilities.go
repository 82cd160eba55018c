package protocol

// Capabilities describes the worker to the studio; sent in hello, every
// heartbeat and the registration request. The studio selects workers by
// TaskKinds and VRAMThresholdGb; AutoEnabled=false stops offers.
type Capabilities struct {
	MachineName            string                `json:"machineName"`
	Username               string                `json:"username"`
	AgentVersion           string                `json:"agentVersion"`
	Engine                 string                `json:"engine"`
	VRAMTotalGb            float64               `json:"vramTotalGb"`
	VRAMThresholdGb        float64               `json:"vramThresholdGb"`
	AutoEnabled            bool                  `json:"autoEnabled"`
	AutoStart              bool                  `json:"autoStart"`
	AutoUpdate             bool                  `json:"autoUpdate"`
	StartMinimised         bool                  `json:"startMinimised"`
	OnlyWhenIdle           bool                  `json:"onlyWhenIdle"`
	UserPresence           string                `json:"userPresence,omitempty"`
	SupportedModels        []string              `json:"supportedModels"`
	TaskKinds              []TaskKind            `json:"taskKinds"`
	SupportedModelsPerKind map[TaskKind][]string `json:"supportedModelsPerKind"`
}
