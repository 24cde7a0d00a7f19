import { packageConfig } from "../../vitest.shared.js";

export default packageConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
