return 0; // the agent lands with its services
