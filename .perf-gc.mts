setInterval(() => (globalThis as any).gc(), 100).unref();
