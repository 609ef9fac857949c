package blueprint

import _ "embed"

// eventsDefault is authentik's default notification rules
// (blueprints/default/events-default.yaml) for Gatehouse's admin group,
// applied at start with the default flows.
//
//go:embed defaults-events/events-default.yaml
var eventsDefault []byte

// eventsDefaultName sorts after the default flows' files.
const eventsDefaultName = "defaults/events-default.yaml"

// EventsDefault is the default notification rules' blueprint.
func EventsDefault() []byte { return eventsDefault }

// defaultFiles are the blueprints applied at start: the default flows
// (DefaultBlueprints) and the default notification rules.
func defaultFiles() (map[string][]byte, error) {
	files, err := DefaultBlueprints()
	if err != nil {
		return nil, err
	}
	files[eventsDefaultName] = eventsDefault
	return files, nil
}
