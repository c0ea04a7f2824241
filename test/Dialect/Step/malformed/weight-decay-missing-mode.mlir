// RUN: not stepc-opt %s 2>&1 | FileCheck %s
// A weight decay without decoupled/coupled.

step.optimizer @o {
  step.group @g accepts(any) dtypes(f32)
      param(%w : tensor<?xf32>) grad(%g : tensor<?xf32>) hyper(%lr : f32, %wd : f32) {
// CHECK: {{.*}}weight-decay-missing-mode.mlir:[[@LINE+1]]:29: error: custom op 'step.weight_decay' expected string or keyword containing one of the following enum values for attribute 'mode' {{\[}}decoupled, coupled]
    %w1 = step.weight_decay %w lr(%lr : f32) wd(%wd : f32) : tensor<?xf32>
    step.return %w1 : tensor<?xf32>
  }
}
