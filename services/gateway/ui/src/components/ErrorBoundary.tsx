// A page that throws while rendering shows what happened instead of a blank screen.
import { Component, type ReactNode } from "react";
import { ErrorBox } from "./States";

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: undefined as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    if (this.state.error !== undefined)
      return <ErrorBox error={this.state.error} title="This page failed to show" />;
    return this.props.children;
  }
}
