import { playwright } from "@vitest/browser-playwright";
import { browserConfig } from "../../vitest.shared.js";

// The conformance suite in real Chromium, on its IndexedDB.
export default browserConfig(playwright);
