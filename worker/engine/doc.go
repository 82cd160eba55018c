// Package engine runs offered jobs: a Multi routes each claim strictly by
// modelSource.engine to the backend of that name, and Synthetic produces
// deterministic real outputs for engine "synthetic" (CI, demo, pipeline checks).
package engine
