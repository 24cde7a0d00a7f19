import { endToEndScenarios } from "./scenarios.js";

for (const kind of ["pglite", "postgres"] as const) endToEndScenarios(kind, "web");
