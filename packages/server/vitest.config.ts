import { packageConfig } from "../../vitest.shared.js";

export default packageConfig({ test: { testTimeout: 30_000, hookTimeout: 30_000 } });
