// State
