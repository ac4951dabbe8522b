// Mock OpenAI / Azure OpenAI / Anthropic / Gemini servers for tests, benchmarks and `make demo`.
export { startMockProvider } from './providers.ts';
export type { MockProvider, MockProviderOptions, MockToolCall, MockWire, OkScenario, RecordedRequest, Scenario } from './providers.ts';
